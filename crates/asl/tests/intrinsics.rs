//! Unit tests for the 18 `States.*` intrinsic functions: results, argument
//! errors and parse errors.

use baton_asl::StatesError;
use baton_asl::env::FixedEnv;
use baton_asl::intrinsics::{self, Func};
use baton_asl::payload::Scope;
use serde_json::{Map, Value, json};

fn context() -> Value {
    json!({
        "Execution": {"Id": "arn:aws:states:us-east-1:111111111111:execution:sm:exec-1", "Name": "exec-1", "Input": {"in": [1, 2]}},
        "StateMachine": {"Id": "arn:aws:states:us-east-1:111111111111:stateMachine:my-sm-name", "Name": "my-sm-name"},
        "State": {"Name": "S", "EnteredTime": "2024-01-01T00:00:00Z", "RetryCount": 0}
    })
}

fn vars() -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("count".into(), json!(3));
    m.insert("obj".into(), json!({"k": "v", "list": [10, 20]}));
    m
}

fn eval_with(src: &str, input: &Value, env: &mut FixedEnv) -> Result<Value, StatesError> {
    let call = intrinsics::parse(src).unwrap_or_else(|e| panic!("parse {src}: {}", e.message));
    let ctx = context();
    let v = vars();
    let mut scope = Scope {
        input,
        context: &ctx,
        vars: &v,
        env,
    };
    call.eval_field("r.$", &mut scope)
}

fn eval(src: &str, input: Value) -> Result<Value, StatesError> {
    let mut env = FixedEnv::new(0, 7);
    eval_with(src, &input, &mut env)
}

fn ok(src: &str, input: Value) -> Value {
    match eval(src, input) {
        Ok(v) => v,
        Err(e) => panic!("{src}: unexpected error {e}"),
    }
}

/// Asserts AWS's `States.Runtime` / `Invalid arguments in States.X`.
fn invalid(src: &str, input: Value) {
    let err = match eval(src, input) {
        Ok(v) => panic!("{src}: expected an error, got {v}"),
        Err(e) => e,
    };
    assert_eq!(err.error, "States.Runtime", "{src}");
    let name = src.split('(').next().unwrap_or_default();
    assert_eq!(
        err.cause.as_deref(),
        Some(format!("Invalid arguments in {name}").as_str()),
        "{src}"
    );
}

fn parse_err(src: &str) {
    assert!(intrinsics::parse(src).is_err(), "{src} should not parse");
}

/// A literal argument that makes the call fail on every input is refused when
/// the definition is loaded (the message names the function).
fn load_err(src: &str) {
    let name = src.split('(').next().unwrap_or_default();
    match intrinsics::parse(src) {
        Ok(_) => panic!("{src} should be refused at load time"),
        Err(e) => assert!(e.message.contains(name), "{src}: {}", e.message),
    }
}

#[test]
fn names_round_trip() {
    for f in Func::ALL {
        assert_eq!(Func::from_name(f.name()), Some(f));
    }
    assert_eq!(Func::from_name("States.uuid"), None);
}

#[test]
fn format() {
    assert_eq!(
        ok(
            "States.Format('Hello, my name is {}.', $.name)",
            json!({"name": "Arnav"})
        ),
        json!("Hello, my name is Arnav.")
    );
    assert_eq!(
        ok(
            "States.Format($.template, $.name)",
            json!({"name": "Arnav", "template": "Hello, my name is {}."})
        ),
        json!("Hello, my name is Arnav.")
    );
    assert_eq!(
        ok(
            "States.Format('{} {} {} {}', $.a, $.b, $.c, $.d)",
            json!({"a": "x", "b": 2, "c": true, "d": null})
        ),
        json!("x 2 true null")
    );
    assert_eq!(
        ok("States.Format('no placeholders')", json!({})),
        json!("no placeholders")
    );
    assert_eq!(ok("States.Format('{}', 1.5)", json!({})), json!("1.5"));
    // Objects and arrays print like Java's Map / List (AWS-recorded shape).
    assert_eq!(
        ok("States.Format('snd={}.', $$.StateMachine)", json!({})),
        json!(
            "snd={Id=arn:aws:states:us-east-1:111111111111:stateMachine:my-sm-name, Name=my-sm-name}."
        )
    );
    assert_eq!(
        ok(
            "States.Format('{}', $.a)",
            json!({"a": [1, "x", [true, null], {"k": []}]})
        ),
        json!("[1, x, [true, null], {k=[]}]")
    );
    // Escapes: \' \{ \} \\ are literal characters, not placeholders.
    assert_eq!(
        ok(
            r"States.Format('Name: \'{}\', braces: \{\} back: \\', $.n)",
            json!({"n": "G"})
        ),
        json!(r"Name: 'G', braces: {} back: \")
    );
    assert_eq!(
        ok("States.Format('  {}  ', 'x')", json!({})),
        json!("  x  ")
    );
    // Argument errors (AWS: States.Runtime, "Invalid arguments in States.Format").
    load_err("States.Format('{} {}', $.a)");
    load_err("States.Format('{}', $.a, $.b)");
    load_err("States.Format('Hello {', $.a)");
    load_err("States.Format('Hello {{}}', $.a)");
    load_err("States.Format('}')");
    invalid("States.Format($.t, 'x')", json!({"t": 123}));
    invalid("States.Format($.t, 'x')", json!({"t": "a { b"}));
    invalid("States.Format()", json!({}));
}

#[test]
fn string_to_json_and_back() {
    assert_eq!(
        ok(
            "States.StringToJson($.s)",
            json!({"s": "{\"foo\": \"bar\"}"})
        ),
        json!({"foo": "bar"})
    );
    assert_eq!(
        ok("States.StringToJson('[1, 2]')", json!({})),
        json!([1, 2])
    );
    assert_eq!(
        ok("States.StringToJson($.s)", json!({"s": "\"x\""})),
        json!("x")
    );
    invalid("States.StringToJson($.s)", json!({"s": "{not json"}));
    invalid("States.StringToJson($.s)", json!({"s": ""}));
    invalid("States.StringToJson($.s)", json!({"s": 5}));
    invalid("States.StringToJson('a', 'b')", json!({}));

    assert_eq!(
        ok(
            "States.JsonToString($.o)",
            json!({"o": {"Arg1": 1, "Arg2": []}})
        ),
        json!("{\"Arg1\":1,\"Arg2\":[]}")
    );
    assert_eq!(
        ok("States.JsonToString($.o)", json!({"o": "HelloWorld"})),
        json!("\"HelloWorld\"")
    );
    assert_eq!(
        ok("States.JsonToString($.o)", json!({"o": 1.1})),
        json!("1.1")
    );
    assert_eq!(
        ok("States.JsonToString($.o)", json!({"o": null})),
        json!("null")
    );
    invalid("States.JsonToString()", json!({}));
}

#[test]
fn array() {
    assert_eq!(ok("States.Array()", json!({})), json!([]));
    assert_eq!(
        ok(
            "States.Array('a', 1, 1.5, true, null, $.x)",
            json!({"x": {"k": [1]}})
        ),
        json!(["a", 1, 1.5, true, null, {"k": [1]}])
    );
    assert_eq!(
        ok("States.Array(States.Array(1), States.Array())", json!({})),
        json!([[1], []])
    );
}

#[test]
fn array_partition() {
    assert_eq!(
        ok(
            "States.ArrayPartition($.a, 2)",
            json!({"a": [1, 2, 3, 4, 5]})
        ),
        json!([[1, 2], [3, 4], [5]])
    );
    assert_eq!(
        ok("States.ArrayPartition($.a, 4)", json!({"a": [0, 1, 2, 3]})),
        json!([[0, 1, 2, 3]])
    );
    assert_eq!(
        ok("States.ArrayPartition($.a, 1)", json!({"a": []})),
        json!([])
    );
    assert_eq!(
        ok("States.ArrayPartition($.a, 2.9)", json!({"a": [1, 2, 3]})),
        json!([[1, 2], [3]])
    );
    invalid("States.ArrayPartition($.a, 0)", json!({"a": [1]}));
    invalid("States.ArrayPartition($.a, 0.49)", json!({"a": [1]}));
    invalid("States.ArrayPartition($.a, -1)", json!({"a": [1]}));
    load_err("States.ArrayPartition($.a, '2')");
    load_err("States.ArrayPartition('abc', 2)");
    invalid("States.ArrayPartition($.a)", json!({"a": [1]}));
}

#[test]
fn array_contains() {
    assert_eq!(
        ok(
            "States.ArrayContains($.a, $.v)",
            json!({"a": [1, 2, 3], "v": 2})
        ),
        json!(true)
    );
    assert_eq!(
        ok(
            "States.ArrayContains($.a, $.v)",
            json!({"a": [[1, 2, 3], 2], "v": [1, 2, 3]})
        ),
        json!(true)
    );
    assert_eq!(
        ok(
            "States.ArrayContains($.a, $.v)",
            json!({"a": [{"1": 2, "2": []}], "v": {"2": [], "1": 2}})
        ),
        json!(true)
    );
    assert_eq!(
        ok(
            "States.ArrayContains($.a, $.v)",
            json!({"a": [], "v": null})
        ),
        json!(false)
    );
    assert_eq!(
        ok("States.ArrayContains($.a, 'x')", json!({"a": ["y"]})),
        json!(false)
    );
    invalid("States.ArrayContains($.a, 1)", json!({"a": "not an array"}));
    invalid("States.ArrayContains($.a)", json!({"a": []}));
}

#[test]
fn array_range() {
    assert_eq!(
        ok("States.ArrayRange(1, 9, 2)", json!({})),
        json!([1, 3, 5, 7, 9])
    );
    assert_eq!(
        ok("States.ArrayRange(5, 1, -2)", json!({})),
        json!([5, 3, 1])
    );
    assert_eq!(ok("States.ArrayRange(3, 3, -1)", json!({})), json!([3]));
    assert_eq!(ok("States.ArrayRange(5, 1, 1)", json!({})), json!([]));
    assert_eq!(ok("States.ArrayRange(1, 5, -1)", json!({})), json!([]));
    // AWS truncates non-integers (observed: (1.6, 1.4, 1) is [1]).
    assert_eq!(ok("States.ArrayRange(1.6, 1.4, 1)", json!({})), json!([1]));
    assert_eq!(
        ok("States.ArrayRange(5.4, -0.6, -2.4)", json!({})),
        json!([5, 3, 1])
    );
    assert_eq!(
        ok("States.ArrayRange(1, 1000, 1)", json!({}))
            .as_array()
            .map(Vec::len),
        Some(1000)
    );
    invalid("States.ArrayRange(1, 1001, 1)", json!({}));
    invalid("States.ArrayRange(1001, 1, -1)", json!({}));
    invalid("States.ArrayRange(1, 10, 0)", json!({}));
    invalid("States.ArrayRange(1, 10, 0.49)", json!({}));
    load_err("States.ArrayRange('a', 5, 1)");
    invalid("States.ArrayRange(1, 5)", json!({}));
    invalid("States.ArrayRange(1, 5, 1, 9)", json!({}));
}

#[test]
fn array_get_item_length_unique() {
    assert_eq!(
        ok(
            "States.ArrayGetItem($.a, $.i)",
            json!({"a": [1, 2, 3, 4, 5, 6, 7, 8, 9], "i": 5})
        ),
        json!(6)
    );
    assert_eq!(
        ok("States.ArrayGetItem($.a, 1.2)", json!({"a": [10, 20, 30]})),
        json!(20)
    );
    assert_eq!(
        ok("States.ArrayGetItem($.a, 999)", json!({"a": []})),
        json!(null)
    );
    assert_eq!(
        ok(
            "States.ArrayGetItem(States.Array('x', 'y', 'z'), 1)",
            json!({})
        ),
        json!("y")
    );
    invalid("States.ArrayGetItem($.a, 3)", json!({"a": [10, 20, 30]}));
    invalid("States.ArrayGetItem($.a, -1)", json!({"a": [10, 20, 30]}));
    load_err("States.ArrayGetItem($.a, '1')");
    load_err("States.ArrayGetItem('not-array', 0)");
    invalid("States.ArrayGetItem($.a)", json!({"a": [1]}));

    assert_eq!(
        ok("States.ArrayLength($.a)", json!({"a": [1, 2, 3]})),
        json!(3)
    );
    assert_eq!(ok("States.ArrayLength($.a)", json!({"a": []})), json!(0));
    invalid("States.ArrayLength($.a)", json!({"a": {"k": 1}}));
    invalid("States.ArrayLength()", json!({}));

    assert_eq!(
        ok(
            "States.ArrayUnique($.a)",
            json!({"a": [null, null, true, true, false, 1, 1, 1.1, "x", "x", [], [], [null], [null], {"a": 1, "b": 2}, {"b": 2, "a": 1}, {"a": 1, "b": 1}]})
        ),
        json!([null, true, false, 1, 1.1, "x", [], [null], {"a": 1, "b": 2}, {"a": 1, "b": 1}])
    );
    load_err("States.ArrayUnique('x')");
}

#[test]
fn base64() {
    assert_eq!(
        ok("States.Base64Encode($.s)", json!({"s": "Data to encode"})),
        json!("RGF0YSB0byBlbmNvZGU=")
    );
    assert_eq!(ok("States.Base64Encode('')", json!({})), json!(""));
    assert_eq!(ok("States.Base64Encode('✓')", json!({})), json!("4pyT"));
    assert_eq!(
        ok(
            "States.Base64Decode($.s)",
            json!({"s": "RGF0YSB0byBlbmNvZGU="})
        ),
        json!("Data to encode")
    );
    assert_eq!(
        ok("States.Base64Decode('44GT44KT44Gr44Gh44Gv')", json!({})),
        json!("こんにちは")
    );
    assert_eq!(
        ok("States.Base64Decode(' YWJjZA== ')", json!({})),
        json!("abcd")
    );
    assert_eq!(
        ok(
            "States.Base64Decode(States.Base64Encode($.s))",
            json!({"s": "hello"})
        ),
        json!("hello")
    );
    let a10000 = "a".repeat(10_000);
    let a10001 = "a".repeat(10_001);
    assert!(eval("States.Base64Encode($.s)", json!({ "s": a10000 })).is_ok());
    invalid("States.Base64Encode($.s)", json!({ "s": a10001 }));
    invalid(
        "States.Base64Decode($.s)",
        json!({ "s": "A".repeat(10_001) }),
    );
    load_err("States.Base64Encode(123)");
    invalid("States.Base64Decode($.o)", json!({"o": {}}));
    invalid("States.Base64Decode()", json!({}));
    invalid("States.Base64Decode('aGVsbG8=', 'extra')", json!({}));
}

#[test]
fn hash() {
    let cases = [
        ("MD5", "5d41402abc4b2a76b9719d911017c592"),
        ("SHA-1", "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d"),
        (
            "SHA-256",
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
        ),
        (
            "SHA-384",
            "59e1748777448c69de6b800d7a33bbfb9ff1b463e44354c3553bcdb9c666fa90125a3c79f90397bdf5f6a13de828684f",
        ),
        (
            "SHA-512",
            "9b71d224bd62f3785d96d46ad3ea3d73319bfbc2890caadae2dff72519673ca72323c3d99ba5c11d7c7acc6e14b8c5da0c4663475c2e5c3adef46f73bcdec043",
        ),
    ];
    for (alg, hex) in cases {
        assert_eq!(
            ok(&format!("States.Hash('hello', '{alg}')"), json!({})),
            json!(hex),
            "{alg}"
        );
    }
    assert_eq!(
        ok(
            "States.Hash($.s, $.a)",
            json!({"s": "Data to encode", "a": "MD5"})
        ),
        json!("ca405671828a177e26947171bbe1e352")
    );
    assert_eq!(
        ok("States.Hash($.s, 'SHA-256')", json!({"s": "こんにちは"})),
        json!("125aeadf27b0459b8760c13a3d80912dfa8a81a68261906f60d87f4a0268646c")
    );
    // AWS hashes a non-string argument's JSON text.
    assert_eq!(
        ok("States.Hash(123, 'MD5')", json!({})),
        ok("States.Hash('123', 'MD5')", json!({}))
    );
    invalid(
        "States.Hash($.s, 'SHA-256')",
        json!({ "s": "a".repeat(10_001) }),
    );
    for bad in ["sha-256", "SHA256", "", "MD-5", "SHA-257", "UNSUPPORTED"] {
        load_err(&format!("States.Hash('data', '{bad}')"));
        invalid("States.Hash('data', $.alg)", json!({ "alg": bad }));
    }
    load_err("States.Hash('hello', 123)");
    invalid("States.Hash()", json!({}));
    invalid("States.Hash('hello')", json!({}));
    invalid("States.Hash('hello', 'SHA-256', 'extra')", json!({}));
}

#[test]
fn json_merge() {
    assert_eq!(
        ok(
            "States.JsonMerge($.a, $.b, false)",
            json!({"a": {"a": {"a1": 1, "a2": 2}, "b": 2, "d": 3}, "b": {"a": {"a3": 1, "a4": 2}, "c": 3, "d": 4}})
        ),
        json!({"a": {"a3": 1, "a4": 2}, "b": 2, "c": 3, "d": 4})
    );
    assert_eq!(
        ok(
            "States.JsonMerge(States.StringToJson('{\"x\": \"false\"}'), $.b, false)",
            json!({"b": {"y": 1}})
        ),
        json!({"x": "false", "y": 1})
    );
    invalid(
        "States.JsonMerge($.a, $.b, true)",
        json!({"a": {}, "b": {}}),
    );
    load_err("States.JsonMerge($.a, $.b, 'false')");
    invalid(
        "States.JsonMerge($.a, $.b, false)",
        json!({"a": [], "b": {}}),
    );
    invalid("States.JsonMerge($.a, $.b)", json!({"a": {}, "b": {}}));
}

#[test]
fn math_add() {
    // AWS-recorded: each argument is rounded like Java's Math.round.
    let cases = [
        (-9.0, 3.0, -6),
        (1.49, 1.5, 3),
        (1.5, 1.51, 4),
        (-1.49, -1.5, -2),
        (-1.5, -1.51, -3),
        (1.49, -1.49, 0),
        (-1.5, 0.0, -1),
        (-0.5, 0.5, 1),
        (-2.5, 0.0, -2),
        (2.5, 0.0, 3),
    ];
    for (a, b, want) in cases {
        assert_eq!(
            ok("States.MathAdd($.a, $.b)", json!({"a": a, "b": b})),
            json!(want),
            "{a} + {b}"
        );
    }
    assert_eq!(ok("States.MathAdd(111, -1)", json!({})), json!(110));
    assert_eq!(ok("States.MathAdd($count, 1)", json!({})), json!(4));
    invalid("States.MathAdd($.a, 1)", json!({"a": "NOT A NUMBER"}));
    invalid("States.MathAdd(1)", json!({}));
    load_err("States.MathAdd(1, null)");
}

#[test]
fn math_random() {
    // Seeded: java.util.Random(seed).nextInt(end - start) + start.
    assert_eq!(ok("States.MathRandom(0, 999, 3)", json!({})), json!(239));
    assert_eq!(ok("States.MathRandom(1, 10, -10)", json!({})), json!(1));
    assert_eq!(
        ok("States.MathRandom(1, 100, 42)", json!({})),
        ok("States.MathRandom(1, 100, 42)", json!({}))
    );
    let mut env = FixedEnv::new(0, 99);
    for _ in 0..200 {
        let v = eval_with("States.MathRandom(1.6, 5.4)", &json!({}), &mut env)
            .ok()
            .and_then(|v| v.as_i64());
        assert!(matches!(v, Some(1..=4)), "{v:?}");
        let w = eval_with("States.MathRandom(-99999, -9999)", &json!({}), &mut env)
            .ok()
            .and_then(|v| v.as_i64());
        assert!(matches!(w, Some(-99999..=-10000)), "{w:?}");
    }
    assert!(
        eval(
            "States.MathRandom($.s, $.e, $.seed)",
            json!({"s": 2147483640, "e": 2147483647, "seed": 1})
        )
        .is_ok()
    );
    invalid("States.MathRandom(1, 1)", json!({}));
    invalid("States.MathRandom(10, 5)", json!({}));
    invalid("States.MathRandom(1.4, 1.6)", json!({}));
    load_err("States.MathRandom('a', 10)");
    load_err("States.MathRandom(1, 'b')");
    load_err("States.MathRandom(1, 10, 'seed')");
    load_err("States.MathRandom(1, 10, null)");
    invalid("States.MathRandom(1)", json!({}));
    invalid("States.MathRandom(1, 10, 5, 99)", json!({}));
}

#[test]
fn string_split() {
    let cases = [
        (" ", ",", json!([" "])),
        (" , ", ",", json!([" ", " "])),
        (", , ,", ",", json!([" ", " "])),
        (",,,,", ",", json!([])),
        ("1,2,3,4,5", ",", json!(["1", "2", "3", "4", "5"])),
        (
            "This.is+a,test=string",
            ".+,=",
            json!(["This", "is", "a", "test", "string"]),
        ),
        (
            "split on T and \nnew line",
            "T\n",
            json!(["split on ", " and ", "new line"]),
        ),
    ];
    for (s, d, want) in cases {
        assert_eq!(
            ok("States.StringSplit($.s, $.d)", json!({"s": s, "d": d})),
            want,
            "{s:?} / {d:?}"
        );
    }
    assert_eq!(
        ok("States.StringSplit('Hello\nWorld', '\n')", json!({})),
        json!(["Hello", "World"])
    );
    invalid("States.StringSplit($.s, ',')", json!({"s": 1}));
    load_err("States.StringSplit('a,b', 1)");
    invalid("States.StringSplit('a,b')", json!({}));
}

#[test]
fn uuid() {
    let mut env = FixedEnv::new(0, 1);
    let a = eval_with("States.UUID()", &json!({}), &mut env).ok();
    let b = eval_with("States.UUID()", &json!({}), &mut env).ok();
    let a = a
        .as_ref()
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    assert_eq!(a.len(), 36);
    assert_eq!(a.as_bytes().get(14), Some(&b'4'));
    assert_ne!(Some(json!(a)), b);
    invalid("States.UUID(1)", json!({}));
}

#[test]
fn nesting_and_sources() {
    assert_eq!(
        ok(
            "States.ArrayGetItem(States.StringSplit($$.StateMachine.Name, '-'), 0)",
            json!({})
        ),
        json!("my")
    );
    assert_eq!(
        ok(
            "States.ArrayGetItem(States.StringSplit($$.StateMachine.Name, '-'), States.MathAdd(States.ArrayLength(States.StringSplit($$.StateMachine.Name, '-')), -1))",
            json!({})
        ),
        json!("name")
    );
    assert_eq!(
        ok(
            "States.Format('{}-{}', $obj.k, $$.Execution.Name)",
            json!({})
        ),
        json!("v-exec-1")
    );
    assert_eq!(ok("States.ArrayLength($obj.list)", json!({})), json!(2));
    // Whitespace between tokens is fine.
    assert_eq!(ok("States.Array( 1 ,  'a' )", json!({})), json!([1, "a"]));
    // Ten levels deep parse; eleven do not.
    let ten = format!("{}1{}", "States.Array(".repeat(10), ")".repeat(10));
    assert!(intrinsics::parse(&ten).is_ok());
    let eleven = format!("{}1{}", "States.Array(".repeat(11), ")".repeat(11));
    parse_err(&eleven);
    let c = intrinsics::parse("States.Format('{} {}', $$.Execution.Id, $v.x)")
        .unwrap_or_else(|e| panic!("{}", e.message));
    assert!(c.uses_context());
    assert!(c.uses_variables());
    assert_eq!(c.variables(), vec!["v"]);
    assert_eq!(c.func(), Func::Format);
    assert_eq!(c.source(), "States.Format('{} {}', $$.Execution.Id, $v.x)");
}

#[test]
fn missing_paths_and_variables() {
    let err = eval("States.Hash($.missing, 'SHA-256')", json!({})).err();
    assert_eq!(
        err,
        Some(StatesError::runtime(
            "The JSONPath '$.missing' specified for the field 'r.$' could not be found in the input '{}'"
        ))
    );
    let err = eval("States.Format('{}', $nosuch)", json!({"a": 1})).err();
    assert_eq!(
        err,
        Some(StatesError::runtime(
            "The JSONPath '$nosuch' specified for the field 'r.$' could not be found in the input '{\"a\":1}'"
        ))
    );
}

#[test]
fn parse_errors() {
    parse_err("States.Nope(1)");
    parse_err("States.format('x')");
    parse_err("States.Array(");
    parse_err("States.Array(1,)");
    parse_err("States.Array(1 2)");
    parse_err("States.Array('unterminated)");
    parse_err("States.Array() trailing");
    parse_err("States.Array(foo)");
    parse_err("States.Array(1.)");
    parse_err("Array(1)");
    // Only \' \{ \} \\ may be escaped (AWS rejects \" at creation time).
    parse_err(r#"States.StringToJson('{"text":"An \"escaped double quote\" here"}')"#);
    parse_err(r#"States.Format('He said, \"Hello, {}!\"', 'Test \"Name\" Here')"#);
    parse_err(r"States.Base64Decode('YWJj\nZA==')");
    assert!(intrinsics::parse(r"States.Format('\'\{\}\\')").is_ok());
}

/// asl-validator's `invalid-math-add.json`, and the same rule for every
/// argument with a fixed type: a literal of the wrong type is refused at load
/// time, while the same value read from a path still fails at run time.
#[test]
fn literal_types_are_checked_at_load_time() {
    for (literal, from_path, input) in [
        (
            "States.MathAdd(1,'-1')",
            "States.MathAdd(1, $.v)",
            json!({"v": "-1"}),
        ),
        (
            "States.MathAdd(true, 1)",
            "States.MathAdd($.v, 1)",
            json!({"v": true}),
        ),
        (
            "States.MathRandom(1, '10')",
            "States.MathRandom(1, $.v)",
            json!({"v": "10"}),
        ),
        (
            "States.ArrayRange(1, 5, '1')",
            "States.ArrayRange(1, 5, $.v)",
            json!({"v": "1"}),
        ),
        (
            "States.ArrayRange(1, 3000000000, 1)",
            "States.ArrayRange(1, $.v, 1)",
            json!({"v": 3_000_000_000_i64}),
        ),
        (
            "States.ArrayPartition($.a, null)",
            "States.ArrayPartition($.a, $.v)",
            json!({"a": [1], "v": null}),
        ),
        (
            "States.ArrayGetItem($.a, true)",
            "States.ArrayGetItem($.a, $.v)",
            json!({"a": [1], "v": true}),
        ),
        (
            "States.ArrayContains('abc', 'a')",
            "States.ArrayContains($.v, 'a')",
            json!({"v": "abc"}),
        ),
        (
            "States.ArrayLength(1)",
            "States.ArrayLength($.v)",
            json!({"v": 1}),
        ),
        (
            "States.Base64Decode(1)",
            "States.Base64Decode($.v)",
            json!({"v": 1}),
        ),
        (
            "States.StringToJson(1)",
            "States.StringToJson($.v)",
            json!({"v": 1}),
        ),
        (
            "States.StringSplit(1, ',')",
            "States.StringSplit($.v, ',')",
            json!({"v": 1}),
        ),
        (
            "States.JsonMerge('a', $.b, false)",
            "States.JsonMerge($.v, $.b, false)",
            json!({"v": "a", "b": {}}),
        ),
        (
            "States.JsonMerge($.a, $.b, null)",
            "States.JsonMerge($.a, $.b, $.v)",
            json!({"a": {}, "b": {}, "v": null}),
        ),
        (
            "States.Hash('x', 'sha1')",
            "States.Hash('x', $.v)",
            json!({"v": "sha1"}),
        ),
        ("States.Format(1)", "States.Format($.v)", json!({"v": 1})),
        (
            "States.Format('{}')",
            "States.Format($.v)",
            json!({"v": "{}"}),
        ),
    ] {
        load_err(literal);
        invalid(from_path, input);
    }
    // Nested calls are checked too.
    parse_err("States.Array(States.MathAdd(1, 'x'))");
    // Values, counts and ranges are run-time checks, as are nested results.
    invalid("States.ArrayRange(1, 10, 0)", json!({}));
    invalid("States.ArrayRange(1, 1001, 1)", json!({}));
    invalid("States.MathRandom(10, 5)", json!({}));
    invalid("States.ArrayPartition($.a, 0)", json!({"a": [1]}));
    invalid(
        "States.JsonMerge($.a, $.b, true)",
        json!({"a": {}, "b": {}}),
    );
    invalid("States.MathAdd(1)", json!({}));
    invalid("States.MathAdd(States.Format('x'), 1)", json!({}));
    // Literals of the right type load and evaluate.
    assert_eq!(ok("States.MathAdd(1,-1)", json!({})), json!(0));
    assert_eq!(ok("States.MathAdd(1.5, 0)", json!({})), json!(2));
    assert_eq!(
        ok(
            "States.ArrayGetItem(States.Array('a', 'b'), 1.7)",
            json!({})
        ),
        json!("b")
    );
    assert_eq!(
        ok(
            "States.JsonMerge($.a, $.b, false)",
            json!({"a": {}, "b": {}})
        ),
        json!({})
    );
}

/// A path argument runs to the `,` or `)` that closes it at the top level:
/// blanks, parentheses, brackets and quotes inside a filter belong to the path.
#[test]
fn filter_paths_with_blanks_as_arguments() {
    let input = json!({
        "DescribeRecord": {"RecordOutputs": [
            {"OutputKey": "FooBar", "OutputValue": "0123456789"},
            {"OutputKey": "Fizz, Buzz)", "OutputValue": "fizzbuzz@example.com"}
        ]}
    });
    assert_eq!(
        ok(
            "States.ArrayGetItem($.DescribeRecord.RecordOutputs[?(@.OutputKey == 'FooBar')].OutputValue, 0)",
            input.clone()
        ),
        json!("0123456789")
    );
    assert_eq!(
        ok(
            "States.ArrayGetItem($.DescribeRecord.RecordOutputs[?(@.OutputKey == \"Fizz, Buzz)\")].OutputValue , 0)",
            input.clone()
        ),
        json!("fizzbuzz@example.com")
    );
    assert_eq!(
        ok(
            "States.ArrayLength($.DescribeRecord.RecordOutputs[?(@.OutputKey != 'x' && (@.OutputValue =~ /.*@.*/))])",
            input.clone()
        ),
        json!(1)
    );
    assert_eq!(
        ok(
            "States.Array($.DescribeRecord['RecordOutputs'][0]['OutputKey'], 'a, b')",
            input
        ),
        json!(["FooBar", "a, b"])
    );
    // Jayway does not compile an unquoted word in a filter (see the path tests).
    parse_err(
        "States.ArrayGetItem($.DescribeRecord.RecordOutputs[?(@.OutputKey == FooBar)].OutputValue, 0)",
    );
}
