//! Task `Resource` URIs: which kind of task, and how its history events name it.

use serde::{Deserialize, Serialize};

use baton_asl::model::State;

/// How a Task state's resource is recorded in the history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TaskKind {
    /// `arn:aws:states:::<service>:<api>[.pattern]` and
    /// `arn:aws:states:::aws-sdk:<service>:<api>`: Task* events with a
    /// `resourceType` (`sqs`, `aws-sdk:sqs`) and `resource`
    /// (`sendMessage.waitForTaskToken`).
    Service {
        resource_type: String,
        resource: String,
    },
    /// A bare Lambda function ARN: LambdaFunction* events.
    Lambda,
    /// An activity ARN: Activity* events.
    Activity,
}

impl TaskKind {
    /// Whether the task gets a task token (`$$.Task.Token`).
    pub fn needs_token(&self, resource: &str) -> bool {
        matches!(self, TaskKind::Activity) || resource.ends_with(".waitForTaskToken")
    }

    /// The name AWS uses for the task in data-limit causes.
    pub fn short_name(&self, _state: &State) -> String {
        match self {
            TaskKind::Service { resource_type, .. } => resource_type.clone(),
            TaskKind::Lambda => "lambda".into(),
            TaskKind::Activity => "activity".into(),
        }
    }
}

/// Classifies a `Resource` URI.
pub fn classify(resource: &str) -> TaskKind {
    let parts: Vec<&str> = resource.splitn(6, ':').collect();
    // arn:<partition>:<service>:<region>:<account>:<rest>
    if parts.len() == 6 && parts[0] == "arn" {
        match parts[2] {
            "lambda" => return TaskKind::Lambda,
            "states" if parts[5].starts_with("activity:") => return TaskKind::Activity,
            "states" if parts[3].is_empty() && parts[4].is_empty() => {
                let rest = parts[5];
                if let Some(sdk) = rest.strip_prefix("aws-sdk:")
                    && let Some((service, api)) = sdk.split_once(':')
                {
                    return TaskKind::Service {
                        resource_type: format!("aws-sdk:{service}"),
                        resource: api.to_string(),
                    };
                }
                if let Some((service, api)) = rest.split_once(':') {
                    return TaskKind::Service {
                        resource_type: service.to_string(),
                        resource: api.to_string(),
                    };
                }
            }
            _ => {}
        }
    }
    TaskKind::Service {
        resource_type: String::new(),
        resource: resource.to_string(),
    }
}

/// Whether the integration pattern records TaskSubmitted before the result
/// (`.sync`, `.sync:2`, `.waitForTaskToken`).
pub fn needs_submit(resource: &str) -> bool {
    resource.ends_with(".waitForTaskToken")
        || resource.ends_with(".sync")
        || resource.ends_with(".sync:2")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_resources() {
        assert_eq!(
            classify("arn:aws:states:::sqs:sendMessage.waitForTaskToken"),
            TaskKind::Service {
                resource_type: "sqs".into(),
                resource: "sendMessage.waitForTaskToken".into()
            }
        );
        assert_eq!(
            classify("arn:aws:states:::aws-sdk:sfn:sendTaskSuccess"),
            TaskKind::Service {
                resource_type: "aws-sdk:sfn".into(),
                resource: "sendTaskSuccess".into()
            }
        );
        assert_eq!(
            classify("arn:aws:lambda:us-east-1:111111111111:function:f"),
            TaskKind::Lambda
        );
        assert_eq!(
            classify("arn:aws:states:us-east-1:111111111111:activity:a"),
            TaskKind::Activity
        );
        assert_eq!(
            classify("arn:aws:states:::states:startExecution.sync:2"),
            TaskKind::Service {
                resource_type: "states".into(),
                resource: "startExecution.sync:2".into()
            }
        );
    }
}
