//! ARNs and names as AWS Step Functions forms and checks them.

/// The partition of a region.
pub fn partition_for(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// `arn:<partition>:states:<region>:<account>:stateMachine:<name>`.
pub fn state_machine(region: &str, account: &str, name: &str) -> String {
    format!(
        "arn:{}:states:{region}:{account}:stateMachine:{name}",
        partition_for(region)
    )
}

/// `arn:<partition>:states:<region>:<account>:execution:<machine>:<name>`.
pub fn execution(state_machine_arn: &str, name: &str) -> Option<String> {
    let parts = Parsed::parse(state_machine_arn)?;
    (parts.resource_type == "stateMachine").then(|| {
        format!(
            "arn:{}:states:{}:{}:execution:{}:{name}",
            parts.partition, parts.region, parts.account, parts.resource_name
        )
    })
}

/// `arn:<partition>:states:<region>:<account>:express:<machine>:<name>:<uuid>`.
pub fn express_execution(state_machine_arn: &str, name: &str, uuid: &str) -> Option<String> {
    let parts = Parsed::parse(state_machine_arn)?;
    (parts.resource_type == "stateMachine").then(|| {
        format!(
            "arn:{}:states:{}:{}:express:{}:{name}:{uuid}",
            parts.partition, parts.region, parts.account, parts.resource_name
        )
    })
}

/// `arn:<partition>:states:<region>:<account>:activity:<name>`.
pub fn activity(region: &str, account: &str, name: &str) -> String {
    format!(
        "arn:{}:states:{region}:{account}:activity:{name}",
        partition_for(region)
    )
}

/// A Step Functions ARN taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed<'a> {
    pub partition: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    /// `stateMachine`, `execution`, `express`, `activity`, `mapRun`.
    pub resource_type: &'a str,
    /// Everything after the resource type (`machine:exec` for executions).
    pub resource_name: &'a str,
}

impl<'a> Parsed<'a> {
    /// Parses `arn:<partition>:states:<region>:<account>:<type>:<name...>`.
    pub fn parse(arn: &'a str) -> Option<Parsed<'a>> {
        let mut it = arn.splitn(7, ':');
        let (a, partition, service, region, account, resource_type, resource_name) = (
            it.next()?,
            it.next()?,
            it.next()?,
            it.next()?,
            it.next()?,
            it.next()?,
            it.next()?,
        );
        if a != "arn" || service != "states" || partition.is_empty() || resource_name.is_empty() {
            return None;
        }
        Some(Parsed {
            partition,
            region,
            account,
            resource_type,
            resource_name,
        })
    }
}

/// Whether `name` is a valid state machine, execution or activity name: 1–80
/// characters, none of whitespace, `< > { } [ ] ? * " # % \ ^ | ~ ` $ & , ; : /`
/// or control characters.
pub fn valid_name(name: &str) -> bool {
    let len = name.chars().count();
    (1..=80).contains(&len)
        && !name.chars().any(|c| {
            c.is_whitespace()
                || "<>{}[]?*\"#%\\^|~`$&,;:/".contains(c)
                || ('\u{0}'..='\u{1f}').contains(&c)
                || ('\u{7f}'..='\u{9f}').contains(&c)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_and_parses() {
        let sm = state_machine("ap-southeast-2", "000000000000", "m");
        assert_eq!(
            sm,
            "arn:aws:states:ap-southeast-2:000000000000:stateMachine:m"
        );
        assert_eq!(
            execution(&sm, "e").as_deref(),
            Some("arn:aws:states:ap-southeast-2:000000000000:execution:m:e")
        );
        let p = Parsed::parse("arn:aws:states:us-east-1:1:execution:m:e").unwrap();
        assert_eq!((p.resource_type, p.resource_name), ("execution", "m:e"));
        assert!(Parsed::parse("arn:aws:sqs:us-east-1:1:q").is_none());
        assert_eq!(partition_for("cn-north-1"), "aws-cn");
    }

    #[test]
    fn names() {
        assert!(valid_name("order-42_x.y"));
        assert!(!valid_name(""));
        assert!(!valid_name("a b"));
        assert!(!valid_name("a:b"));
        assert!(!valid_name(&"x".repeat(81)));
    }
}
