use serde_json::{Value, json};

use super::{Path, Root};

fn p(src: &str) -> Path {
    match Path::parse(src) {
        Ok(p) => p,
        Err(e) => panic!("{src}: {}", e.message),
    }
}

fn sel(src: &str, doc: &Value) -> Option<Value> {
    p(src).select(doc)
}

fn err(src: &str) -> String {
    match Path::parse(src) {
        Ok(_) => panic!("{src} should not parse"),
        Err(e) => e.message,
    }
}

fn store() -> Value {
    json!({
        "store": {
            "book": [
                {"category": "reference", "author": "Nigel Rees", "title": "Sayings of the Century", "price": 8.95},
                {"category": "fiction", "author": "Evelyn Waugh", "title": "Sword of Honour", "price": 12.99},
                {"category": "fiction", "author": "Herman Melville", "title": "Moby Dick", "isbn": "0-553-21311-3", "price": 8.99},
                {"category": "fiction", "author": "J. R. R. Tolkien", "title": "The Lord of the Rings", "isbn": "0-395-19395-8", "price": 22.99}
            ],
            "bicycle": {"color": "red", "price": 19.95}
        },
        "expensive": 10
    })
}

#[test]
fn roots() {
    assert_eq!(p("$").root(), &Root::Input);
    assert_eq!(p("$.a").root(), &Root::Input);
    assert_eq!(p("$['a']").root(), &Root::Input);
    assert_eq!(p("$$").root(), &Root::Context);
    assert_eq!(p("$$.Execution.Id").root(), &Root::Context);
    assert_eq!(p("$myVar").root(), &Root::Variable("myVar".into()));
    assert_eq!(p("$_x1.a.b").root(), &Root::Variable("_x1".into()));
    assert_eq!(p("$v[0]").root(), &Root::Variable("v".into()));
    // The caller passes the variable's value: only the segments after the name apply.
    assert_eq!(
        p("$myVar.a.b").select(&json!({"a": {"b": 7}})),
        Some(json!(7))
    );
    assert_eq!(p("$myVar").select(&json!([1])), Some(json!([1])));
    assert_eq!(
        p("$$.Execution.Id").select(&json!({"Execution": {"Id": "x"}})),
        Some(json!("x"))
    );
    assert!(p("$").is_root_only());
    assert_eq!(p("$.a ").source(), "$.a ");
}

#[test]
fn names_and_indices() {
    let doc = json!({"a": {"b": [10, 20, 30]}, "x-y": 1, "☺": 2, "a b": 3, "": 4, "k:1": 5});
    assert_eq!(sel("$", &doc), Some(doc.clone()));
    assert_eq!(sel("$.a.b", &doc), Some(json!([10, 20, 30])));
    assert_eq!(sel("$.a.b[0]", &doc), Some(json!(10)));
    assert_eq!(sel("$.a.b[-1]", &doc), Some(json!(30)));
    assert_eq!(sel("$.a.b[-3]", &doc), Some(json!(10)));
    assert_eq!(sel("$.a.b[-4]", &doc), None);
    assert_eq!(sel("$.a.b[3]", &doc), None);
    assert_eq!(sel("$['a']['b'][1]", &doc), Some(json!(20)));
    assert_eq!(sel("$[\"a\"].b[2]", &doc), Some(json!(30)));
    assert_eq!(sel("$.x-y", &doc), Some(json!(1)));
    assert_eq!(sel("$.☺", &doc), Some(json!(2)));
    assert_eq!(sel("$['a b']", &doc), Some(json!(3)));
    assert_eq!(sel("$['']", &doc), Some(json!(4)));
    assert_eq!(sel("$.k:1", &doc), Some(json!(5)));
    assert_eq!(sel("$[ 'a' ].b", &doc), Some(json!([10, 20, 30])));
    assert_eq!(sel("$.missing", &doc), None);
    assert_eq!(sel("$.a.missing.deeper", &doc), None);
    assert_eq!(sel("$.a.b.c", &doc), None);
    assert_eq!(sel("$.a[0]", &doc), None);
    // Jayway reads a name directly after a bracket too.
    assert_eq!(sel("$['a']b", &doc), Some(json!([10, 20, 30])));
    // `$.[...]` is accepted (AWS-recorded template uses `$.[?(...)]`).
    assert_eq!(sel("$.['a'].b[0]", &doc), Some(json!(10)));
    // Null members are found.
    assert_eq!(sel("$.n", &json!({"n": null})), Some(Value::Null));
}

#[test]
fn bracket_escapes_are_kept_verbatim() {
    // AWS-recorded (ESCAPE_SEQUENCES_JSONPATH): `$['Test\""Name"']` finds the key `Test\""Name"`.
    let doc = json!({"Test\\\"\"Name\"": "Value\"\\"});
    assert_eq!(sel("$['Test\\\"\"Name\"']", &doc), Some(json!("Value\"\\")));
    let doc = json!({"a\\'b": 1});
    assert_eq!(sel("$['a\\'b']", &doc), Some(json!(1)));
}

#[test]
fn indefinite_paths_give_arrays() {
    let doc = store();
    assert_eq!(
        sel("$.store.book[*].author", &doc),
        Some(json!([
            "Nigel Rees",
            "Evelyn Waugh",
            "Herman Melville",
            "J. R. R. Tolkien"
        ]))
    );
    assert_eq!(
        sel("$..author", &doc),
        Some(json!([
            "Nigel Rees",
            "Evelyn Waugh",
            "Herman Melville",
            "J. R. R. Tolkien"
        ]))
    );
    assert_eq!(
        sel("$.store.*", &doc).map(|v| v.as_array().map(Vec::len)),
        Some(Some(2))
    );
    assert_eq!(
        sel("$.store..price", &doc),
        Some(json!([8.95, 12.99, 8.99, 22.99, 19.95]))
    );
    assert_eq!(sel("$..book[2].title", &doc), Some(json!(["Moby Dick"])));
    assert_eq!(
        sel("$..book[-1].title", &doc),
        Some(json!(["The Lord of the Rings"]))
    );
    assert_eq!(
        sel("$..book[0,1].title", &doc),
        Some(json!(["Sayings of the Century", "Sword of Honour"]))
    );
    assert_eq!(
        sel("$..book[:2].title", &doc),
        Some(json!(["Sayings of the Century", "Sword of Honour"]))
    );
    assert_eq!(
        sel("$..book[1:2].title", &doc),
        Some(json!(["Sword of Honour"]))
    );
    assert_eq!(
        sel("$..book[-2:].title", &doc),
        Some(json!(["Moby Dick", "The Lord of the Rings"]))
    );
    assert_eq!(
        sel("$..book[2:].title", &doc),
        Some(json!(["Moby Dick", "The Lord of the Rings"]))
    );
    assert_eq!(
        sel("$..book[?(@.isbn)].title", &doc),
        Some(json!(["Moby Dick", "The Lord of the Rings"]))
    );
    assert_eq!(
        sel("$.store.book[?(@.price < 10)].title", &doc),
        Some(json!(["Sayings of the Century", "Moby Dick"]))
    );
    assert_eq!(
        sel("$..book[?(@.price <= $['expensive'])].price", &doc),
        Some(json!([8.95, 8.99]))
    );
    assert_eq!(
        sel("$..book[?(@.author =~ /.*REES/i)].price", &doc),
        Some(json!([8.95]))
    );
    assert_eq!(
        sel("$..*", &json!({"a": {"b": 1}, "c": 2})),
        Some(json!([{"b": 1}, 2, 1]))
    );
    assert_eq!(sel("$.*", &json!([1, 2])), Some(json!([1, 2])));
    assert_eq!(sel("$[*]", &json!({"a": 1, "b": 2})), Some(json!([1, 2])));
}

#[test]
fn empty_matches_are_empty_arrays() {
    // AWS-recorded (test_json_path_array_wildcard_or_slice_with_no_input): all give [].
    let empty = json!({});
    for src in [
        "$[*]",
        "$.items[*]",
        "$.items[1:]",
        "$.items[:1]",
        "$.item.items[*]",
        "$.item.items[1:]",
        "$.item.items[1:5]",
        "$.items[1:].itemValue",
        "$.items[:1].itemValue",
        "$.item.items[1:5].itemValue",
        "$.items[*].itemValue",
    ] {
        assert_eq!(sel(src, &empty), Some(json!([])), "{src}");
    }
    // A filter on a primitive is an invalid path in Jayway, not an empty match.
    assert_eq!(sel("$.a[?(@.x)]", &json!({"a": 5})), None);
    assert_eq!(sel("$.b[?(@.x)]", &json!({"a": 5})), Some(json!([])));
}

#[test]
fn aws_recorded_filters() {
    // test_state_pass_regex_json_path_base
    let input = json!({"users": [{"year": 1997, "status": 0}, {"year": 1998, "status": 1}]});
    assert_eq!(
        sel("$.users[?(@.status == 0)]", &input),
        Some(json!([{"year": 1997, "status": 0}]))
    );
    let arr = json!([{"year": 1997, "name": "a"}, {"year": 1998, "name": "b"}, {"year": 2001}]);
    assert_eq!(
        sel("$[?(@.year <= 1998)]", &arr).map(|v| v.as_array().map(Vec::len)),
        Some(Some(2))
    );
    assert_eq!(
        sel("$.[?(@.year <= 1998)]", &arr).map(|v| v.as_array().map(Vec::len)),
        Some(Some(2))
    );
    assert_eq!(
        sel("$.[?(@.year < 1999)].name", &arr),
        Some(json!(["a", "b"]))
    );
}

#[test]
fn filter_operators() {
    let doc = json!({"items": [
        {"id": 1, "tag": "red", "n": "1", "list": [1, 2], "s": ""},
        {"id": 2, "tag": "blue", "n": "x", "list": [], "s": "abc"},
        {"id": 3, "tag": null, "list": [3]}
    ]});
    let ids = |f: &str| -> Value {
        let src = format!("$.items[?({f})].id");
        sel(&src, &doc).unwrap_or(Value::Null)
    };
    assert_eq!(ids("@.id == 1"), json!([1]));
    assert_eq!(ids("@.id != 1"), json!([2, 3]));
    assert_eq!(ids("@.id > 1 && @.id < 3"), json!([2]));
    assert_eq!(ids("@.id == 1 || @.id == 3"), json!([1, 3]));
    assert_eq!(ids("@.id >= 2"), json!([2, 3]));
    assert_eq!(ids("@.tag == 'red'"), json!([1]));
    assert_eq!(ids("@.tag == \"blue\""), json!([2]));
    assert_eq!(ids("@.tag == null"), json!([3]));
    assert_eq!(ids("@.n"), json!([1, 2]));
    assert_eq!(ids("!@.n"), json!([3]));
    assert_eq!(ids("@.n == 1"), json!([1]));
    assert_eq!(ids("@.tag in ['red','blue']"), json!([1, 2]));
    assert_eq!(ids("@.tag nin ['red']"), json!([2, 3]));
    assert_eq!(ids("@.list size 2"), json!([1]));
    assert_eq!(ids("@.list empty true"), json!([2]));
    assert_eq!(ids("@.list contains 3"), json!([3]));
    assert_eq!(ids("@.s contains 'b'"), json!([2]));
    assert_eq!(ids("@.list subsetof [1,2,3]"), json!([1, 2, 3]));
    assert_eq!(ids("@.list anyof [2,3]"), json!([1, 3]));
    assert_eq!(ids("@.list noneof [2,3]"), json!([2]));
    assert_eq!(ids("@.tag =~ /r.d/"), json!([1]));
    assert_eq!(ids("@.tag =~ /R.D/i"), json!([1]));
    assert_eq!(
        ids("(@.id == 1 || @.id == 2) && @.tag == 'blue'"),
        json!([2])
    );
    assert_eq!(ids("!(@.id == 1)"), json!([2, 3]));
    assert_eq!(ids("@.missing == 1"), json!([]));
    assert_eq!(ids("@.missing != 1"), json!([1, 2, 3]));
    assert_eq!(ids("@.tag < 'c'"), json!([2]));
    assert_eq!(ids("@['id'] == 2"), json!([2]));
    assert_eq!(ids("@.list[0] == 3"), json!([3]));
    assert_eq!(ids("@.list[?(@ > 1)]"), json!([1, 3]));
    assert_eq!(ids(" @.id==1 "), json!([1]));
}

#[test]
fn definite_and_reference() {
    for src in [
        "$",
        "$.a",
        "$.a.b",
        "$['a']",
        "$.a[0]",
        "$.a[-1]",
        "$$.Map.Item.Value",
        "$v.x[2]",
    ] {
        assert!(p(src).is_reference(), "{src}");
        assert!(p(src).is_definite(), "{src}");
    }
    for src in [
        "$.a[*]",
        "$..a",
        "$.a[0:2]",
        "$.a[0,1]",
        "$.a[?(@.x)]",
        "$.*",
        "$['a','b'].c",
    ] {
        assert!(!p(src).is_reference(), "{src}");
        assert!(!p(src).is_definite(), "{src}");
    }
    // Definite but not reference paths.
    assert!(!p("$['a','b']").is_reference());
    assert!(p("$['a','b']").is_definite());
    assert!(!p("$.a.length()").is_reference());
}

#[test]
fn multi_names_merge_at_the_leaf() {
    // Recorded on AWS (gist deric4/733eb129a10b13530cebaa3b70031c77).
    let doc = json!({"a": {"v": 1}, "b": {"v": 2}, "c": {"v": 3}});
    assert_eq!(
        sel("$['a', 'b']", &doc),
        Some(json!({"a": {"v": 1}, "b": {"v": 2}}))
    );
    assert_eq!(sel("$['a','zz']", &doc), Some(json!({"a": {"v": 1}})));
    let e = p("$['a', 'b'].v").try_select(&doc).map(|_| ()).unwrap_err();
    assert_eq!(
        e.message,
        "Multi properties can only be used as path leafs: $['a', 'b']"
    );
}

#[test]
fn functions_parse_but_find_nothing() {
    // AWS accepts `$.Jobs.sum()` in a definition and fails it at runtime ("could not be found").
    let doc = json!({"Jobs": [1, 2]});
    assert_eq!(sel("$.Jobs.sum()", &doc), None);
    assert_eq!(sel("$.Jobs.length()", &doc), None);
}

#[test]
fn jayway_error_messages() {
    let doc = json!({"int-literal": 0, "a": {"b": "text"}, "arr": [1], "nul": null});
    let msg = |src: &str| p(src).try_select(&doc).map(|_| ()).unwrap_err().message;
    // AWS-recorded causes (test_invalid_jsonpath, catch_states_runtime).
    assert_eq!(
        msg("$.NoSuchInputPath"),
        "No results for path: $['NoSuchInputPath']"
    );
    assert_eq!(
        msg("$.no.such.result.path"),
        "Missing property in path $['no']"
    );
    assert_eq!(msg("$.arr[5]"), "No results for path: $['arr'][5]");
    assert_eq!(
        msg("$.a.b.c"),
        "Expected to find an object with property ['c'] in path $['a']['b'] but found 'java.lang.String'. This is not a json object according to the JsonProvider: 'com.jayway.jsonpath.spi.json.JsonSmartJsonProvider'."
    );
    assert_eq!(
        msg("$.a[0]"),
        "Filter: [0] can only be applied to arrays. Current context is: {\"b\":\"text\"}"
    );
    assert_eq!(msg("$.nul[0]"), "The path $['nul'] is null");
    assert!(p("$.x").try_select(&json!({"x": 1})).is_ok());
}

#[test]
fn parse_errors() {
    for src in [
        "",
        "a",
        "$.",
        "$..",
        "$.a.",
        "$a-b",
        "$[",
        "$['a'",
        "$['a",
        "$[a]",
        "$[1:2",
        "$.a b",
        "$[?(@.a)",
        "$[?(@.a]",
        "$[?@.a]",
        "$[?]",
        "$[1,]",
        "$[:]",
        "$[::2]",
        "$[1 :2]",
        "$[*",
        "$[* 1]",
        "$[9999999999]",
        "$[?(@.a === 1)]",
        "$[?(@.a =~ /(/)]",
        "$[?(1)]",
        "$...a",
        "$['a',]",
        "$['a' 'b']",
        "$[?(@.a == )]",
        "$x y",
        "$$$",
        "$ .a",
    ] {
        let e = err(src);
        assert!(e.starts_with("Invalid JSONPath '"), "{src}: {e}");
    }
}

#[test]
fn jayway_slices() {
    let a = json!([0, 1, 2, 3, 4]);
    assert_eq!(sel("$[1:3]", &a), Some(json!([1, 2])));
    assert_eq!(sel("$[1:]", &a), Some(json!([1, 2, 3, 4])));
    assert_eq!(sel("$[:2]", &a), Some(json!([0, 1])));
    assert_eq!(sel("$[-2:]", &a), Some(json!([3, 4])));
    assert_eq!(sel("$[:-2]", &a), Some(json!([0, 1, 2])));
    assert_eq!(sel("$[3:1]", &a), Some(json!([])));
    assert_eq!(sel("$[2:100]", &a), Some(json!([2, 3, 4])));
    // Jayway ignores a step and does not normalise negative bounds of `[a:b]`.
    assert_eq!(sel("$[0:4:2]", &a), Some(json!([0, 1, 2, 3])));
    assert_eq!(sel("$[-2:4]", &a), Some(json!([0, 1, 2, 3])));
    assert_eq!(sel("$[1:-1]", &a), Some(json!([])));
    assert_eq!(sel("$[0,0,4]", &a), Some(json!([0, 0, 4])));
}

#[test]
fn select_ref_borrows() {
    let doc = json!({"a": {"b": [1, 2]}});
    assert!(matches!(
        p("$.a.b").select_ref(&doc),
        Some(std::borrow::Cow::Borrowed(_))
    ));
    assert!(matches!(
        p("$.a.b[*]").select_ref(&doc),
        Some(std::borrow::Cow::Owned(_))
    ));
}

#[test]
fn result_path_writes() {
    let input = json!({"a": 1, "o": {"x": 1}, "arr": [1, 2, 3]});
    let w = |src: &str, target: Value, value: Value| p(src).write(target, value);
    assert_eq!(w("$", input.clone(), json!(5)), Ok(json!(5)));
    assert_eq!(
        w("$.r", input.clone(), json!(5)),
        Ok(json!({"a": 1, "o": {"x": 1}, "arr": [1, 2, 3], "r": 5}))
    );
    assert_eq!(
        w("$.a", input.clone(), json!("s")).map(|v| v["a"].clone()),
        Ok(json!("s"))
    );
    assert_eq!(
        w("$.new.deep.field", json!({}), json!(true)),
        Ok(json!({"new": {"deep": {"field": true}}}))
    );
    assert_eq!(
        w("$.o.y", input.clone(), json!(2)).map(|v| v["o"].clone()),
        Ok(json!({"x": 1, "y": 2}))
    );
    assert_eq!(
        w("$['o']['z']", input.clone(), json!(3)).map(|v| v["o"]["z"].clone()),
        Ok(json!(3))
    );
    assert_eq!(
        w("$.arr[1]", input.clone(), json!(9)).map(|v| v["arr"].clone()),
        Ok(json!([1, 9, 3]))
    );
    assert_eq!(
        w("$.arr[-1]", input.clone(), json!(9)).map(|v| v["arr"].clone()),
        Ok(json!([1, 2, 9]))
    );
    assert_eq!(w("$[0]", json!([1, 2]), json!(0)), Ok(json!([0, 2])));
    // Key order of the input is kept; the new key goes last.
    let out = w("$.b", json!({"z": 1, "a": 2}), json!(3)).unwrap_or_default();
    assert_eq!(
        serde_json::to_string(&out).unwrap_or_default(),
        r#"{"z":1,"a":2,"b":3}"#
    );

    let e = |src: &str, target: Value| match p(src).write(target, json!(1)) {
        Ok(v) => panic!("{src} wrote {v}"),
        Err(e) => e.message,
    };
    assert_eq!(
        e("$.a.b", json!({"a": 5})),
        "Unable to apply ResultPath '$.a.b': the value at $['a'] is a number, not an object, so the field 'b' cannot be set"
    );
    assert!(e("$.x", json!("scalar")).contains("the value at $ is a string, not an object"));
    assert!(e("$.x", json!([1])).contains("is an array, not an object"));
    assert!(e("$.x.y", json!({"x": null})).contains("is null, not an object"));
    assert!(e("$.arr[5]", json!({"arr": [1]})).contains("outside the array"));
    assert!(e("$.o[0]", json!({"o": {}})).contains("not an array"));
    assert!(e("$.a[*]", json!({})).contains("reference path"));
    assert!(e("$$.Execution", json!({})).contains("must start with '$'"));
    assert!(e("$v.x", json!({})).contains("must start with '$'"));
}

#[test]
fn deep_scan_with_filters_follows_jayway() {
    let doc = json!({"a": {"x": 1}, "b": [{"x": 2}, {"y": 3}, 4], "x": 0});
    // The root itself is a candidate; objects pass or fail as a whole.
    assert_eq!(
        sel("$..[?(@.x)]", &doc).map(|v| v.as_array().map(Vec::len)),
        Some(Some(3))
    );
    assert_eq!(sel("$..[?(@.x > 0)].x", &doc), Some(json!([1, 2])));
    assert_eq!(sel("$..[0]", &doc), Some(json!([{"x": 2}])));
    assert_eq!(sel("$..x", &doc), Some(json!([0, 1, 2])));
}

#[test]
fn never_panics_on_odd_input() {
    let doc = store();
    for src in [
        "$[?(@.a == '\\u12')]",
        "$[?(@ =~ /[/)]",
        "$[?(@.a in [1,)]",
        "$[?((((((@.a))))))]",
        "$['\\",
        "$[?(@.a == \"\\\")]",
        "$.☺[?(@.☺ == '☺')]",
        "$[-2147483648]",
        "$[2147483647]",
        "$[-2147483648:]",
        "$[:-2147483648]",
        "$..[?(@..[?(@..[?(@.x)])])]",
        "$.a()()",
        "$.(",
        "$[?(@.a =~ /a{99999}/)]",
    ] {
        if let Ok(path) = Path::parse(src) {
            let _ = path.select(&doc);
            let _ = path.write(doc.clone(), json!(1));
        }
    }
    let deep = "$".to_string() + &"[?(@".repeat(40) + &")]".repeat(40);
    assert!(Path::parse(&deep).is_err());
    let parens = format!("$[?({}@.a{})]", "(".repeat(100), ")".repeat(100));
    assert!(Path::parse(&parens).is_err());
    let long = "$".to_string() + &".a".repeat(600);
    assert!(Path::parse(&long).is_err());
    let ok = "$".to_string() + &".*".repeat(500);
    assert_eq!(sel(&ok, &json!({"a": 1})), Some(json!([])));
    assert_eq!(sel("$[-2147483648]", &json!([1])), None);
    assert_eq!(sel("$[:-2147483648]", &json!([1])), Some(json!([])));
}

/// Jayway 2.x `PathCompiler.readNextToken`: a `[` token must be a quoted
/// property, an array index/slice, `*`, a `?(...)` filter or a `?`
/// placeholder; `readArrayToken` only starts on a digit, `-` or `:`. The
/// Goessner script expression `[(@.length-1)]` (supported by Jayway 1.x's
/// `analyzeArraySequence`, dropped in 2.0) therefore does not compile.
#[test]
fn script_expressions_are_not_jayway_2() {
    for src in [
        "$[(@.length-1)].bar",
        "$[(@.length-1)]",
        "$.a[(@.length - 1)]",
        "$..book[(@.length-1)]",
        "$[ (@.length-1)]",
    ] {
        assert!(err(src).contains("could not parse the token"), "{src}");
    }
    // The supported spellings of "the last element".
    assert_eq!(sel("$[-1]", &json!([1, 2, 3])), Some(json!(3)));
    assert_eq!(sel("$[-1:]", &json!([1, 2, 3])), Some(json!([3])));
}

/// Jayway 2.x `FilterCompiler.readLiteral`: anything that is not a quote,
/// `t`/`f` (boolean), `n` (null), `-`, `{`, `[` or `/` goes to
/// `readNumberLiteral`, which reads digits, `-` and `.` only and builds a
/// `BigDecimal`; an unquoted word reads as "" and `new BigDecimal("")` throws,
/// so the filter does not compile.
#[test]
fn unquoted_words_in_filters_do_not_compile() {
    for src in [
        "$.a[?(@.OutputKey == FooBar)].OutputValue",
        "$.a[?(@.k == FizzBuzz)]",
        "$.a[?(@.k == foo)]",
        "$.a[?(@.k == nope)]",
        "$.a[?(@.k == trueish)]",
        "$.a[?(@.k == nullx)]",
        "$.a[?(@.k == 1e5)]",
        "$.a[?(@.k == 1-2)]",
        "$.a[?(FooBar == @.k)]",
    ] {
        assert!(Path::parse(src).is_err(), "{src} should not parse");
    }
    let doc = json!({"a": [{"k": "FooBar", "v": 1}, {"k": 2.5, "v": 2}, {"k": -0.5, "v": 3}]});
    assert_eq!(sel("$.a[?(@.k == 'FooBar')].v", &doc), Some(json!([1])));
    assert_eq!(sel("$.a[?(@.k == \"FooBar\")].v", &doc), Some(json!([1])));
    // BigDecimal forms Jayway reads: `2.50`, `-.5`, `2.`.
    assert_eq!(sel("$.a[?(@.k == 2.50)].v", &doc), Some(json!([2])));
    assert_eq!(sel("$.a[?(@.k == -.5)].v", &doc), Some(json!([3])));
    assert_eq!(sel("$.a[?(@.k < 3.)].v", &doc), Some(json!([2, 3])));
}
