//! The asl-validator definition set: every `valid-*` loads without
//! diagnostics, every `invalid-*` produces at least one.
//!
//! Where a file's expectation contradicts AWS's own recorded behaviour, AWS
//! wins; those files are listed in [`AWS_WINS`] with the recording (or, for
//! JSONPath syntax, the Jayway JsonPath 2.x source AWS runs).

use std::path::PathBuf;

use baton_asl::load;

/// Files whose expected outcome is flipped to AWS's recorded behaviour:
/// (file, whether AWS accepts it, the AWS recording or Jayway source that decides).
const AWS_WINS: &[(&str, bool, &str)] = &[
    (
        "valid-task-credentials.json",
        false,
        // Credentials without RoleArn. AWS: "SCHEMA_VALIDATION_FAILED: The field 'RoleArn' is required but
        // was missing at /States/State0/Credentials" for `{"InvalidField": "invalid"}`.
        "localstack v2/credentials/test_credentials_base.snapshot.json test_invalid_credentials_field",
    ),
    (
        "valid-cfn-definition-substitutions.json",
        false,
        // Resource "${lambdaArn}" is a CloudFormation placeholder, not an ARN. AWS refuses resources it
        // does not recognise: "The resource provided … is not recognized. The value is not a valid
        // resource ARN, or the resource is not available in this region."
        "localstack v2/services/test_dynamodb_task_service.snapshot.json test_invalid_integration",
    ),
    (
        "valid-task-intrisic-function.json",
        false,
        // Resource is a CloudFormation object ({"Ref": ...}, {"Fn::GetAtt": ...}), not an ARN string; same
        // AWS recording as above ("The value is not a valid resource ARN").
        "localstack v2/services/test_dynamodb_task_service.snapshot.json test_invalid_integration",
    ),
    (
        "valid-map-with-item-batcher-jsonata.json",
        false,
        // A state declaring QueryLanguage JSONPath in a JSONata machine (here inside the Map's
        // ItemProcessor). AWS: "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state
        // machine".
        "localstack v2/test_sfn_api_validation.snapshot.json INVALID_DOWNGRADE_QUERY_LANGUAGE",
    ),
    (
        "valid-path-array-context.json",
        false,
        // OutputPath "$[(@.length-1)].bar": a Goessner script expression. AWS compiles paths with Jayway
        // JsonPath 2.x (its runtime errors quote Jayway 2.x: "Missing property in path $['no']", and the
        // docs list Jayway 2.x filter operators such as `subsetof`). Jayway 2.x
        // `internal/path/PathCompiler.readNextToken` accepts after `[` only readBracketPropertyToken,
        // readArrayToken (`if (!isDigit(nextSignificantChar) && nextSignificantChar != MINUS &&
        // nextSignificantChar != SPLIT) return false;`), readWildCardToken, readFilterToken (needs `?`)
        // and readPlaceholderToken, else "Could not parse token starting at position 1. Expected ?, ',
        // 0-9, * ". `[(@.length-1)]` existed only in Jayway 1.x (`analyzeArraySequence`, CONTEXT_SIZE).
        "Jayway JsonPath 2.x PathCompiler.readArrayToken / readNextToken (json-path/JsonPath)",
    ),
    (
        "valid-current-value-predicate.json",
        false,
        // `[?(@.OutputKey == FooBar)]`: an unquoted word. Jayway 2.x `FilterCompiler.readLiteral` sends
        // any character other than ' " t f - n { [ / to `default: return readNumberLiteral();`, which
        // reads the run of digits/'-'/'.' (empty here) and calls `ValueNode.createNumberNode` ->
        // `new BigDecimal("")`: NumberFormatException, rethrown by `FilterCompiler.compile` as
        // "Could not compile inline filter : [?(@.OutputKey == FooBar)]". AWS refuses the intrinsic's
        // path argument at creation ("The value for the field 'FooBar.$' must be a valid JSONPath or a
        // valid intrinsic function call").
        "Jayway JsonPath 2.x FilterCompiler.readLiteral / readNumberLiteral (json-path/JsonPath)",
    ),
];

fn suite() -> Option<PathBuf> {
    let dir = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/suites/asl-validator/definitions"
    ));
    dir.is_dir().then_some(dir)
}

#[test]
fn asl_validator_definitions() {
    let Some(dir) = suite() else {
        println!("skipped: the asl-validator suite is not present beside the repository");
        return;
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("read definitions")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();

    let (mut valid_total, mut valid_ok, mut invalid_total, mut invalid_ok) = (0, 0, 0, 0);
    let mut failures = Vec::new();
    for path in &files {
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let valid_group = name.starts_with("valid-");
        let src = std::fs::read_to_string(path).expect("read definition");
        let (def, diags) = load::load_str(&src);
        assert_eq!(
            def.is_some(),
            diags.is_empty(),
            "{name}: a definition comes back exactly when there is no diagnostic"
        );
        let expected_valid = AWS_WINS
            .iter()
            .find(|(f, _, _)| *f == name)
            .map_or(valid_group, |(_, ok, _)| *ok);
        let ok = diags.is_empty() == expected_valid;
        if valid_group {
            valid_total += 1;
            valid_ok += usize::from(ok);
        } else {
            invalid_total += 1;
            invalid_ok += usize::from(ok);
        }
        if !ok {
            let shown: Vec<String> = diags.iter().map(ToString::to_string).collect();
            failures.push(format!(
                "{name} (expected {}): {shown:?}",
                if expected_valid { "valid" } else { "invalid" }
            ));
        }
    }
    println!(
        "{valid_ok}/{valid_total} valid accepted, {invalid_ok}/{invalid_total} invalid rejected"
    );
    for (f, _, why) in AWS_WINS {
        println!("  AWS wins over asl-validator: {f} ({why})");
    }
    assert!(
        failures.is_empty(),
        "{} files differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!((valid_total, invalid_total), (62, 50));
}
