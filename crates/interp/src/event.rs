//! History events, in AWS's shapes.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

macro_rules! event_types {
    ($($name:ident => $details:expr,)*) => {
        /// Every `HistoryEventType`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum EventType { $($name,)* }

        impl EventType {
            /// The name AWS uses (`TaskStateEntered`, ...).
            pub fn as_str(self) -> &'static str {
                match self { $(EventType::$name => stringify!($name),)* }
            }

            /// The member holding this event's details
            /// (`stateEnteredEventDetails`, ...), if it has any.
            pub fn details_key(self) -> Option<&'static str> {
                match self { $(EventType::$name => $details,)* }
            }
        }
    };
}

event_types! {
    ActivityFailed => Some("activityFailedEventDetails"),
    ActivityScheduled => Some("activityScheduledEventDetails"),
    ActivityScheduleFailed => Some("activityScheduleFailedEventDetails"),
    ActivityStarted => Some("activityStartedEventDetails"),
    ActivitySucceeded => Some("activitySucceededEventDetails"),
    ActivityTimedOut => Some("activityTimedOutEventDetails"),
    ChoiceStateEntered => Some("stateEnteredEventDetails"),
    ChoiceStateExited => Some("stateExitedEventDetails"),
    ExecutionAborted => Some("executionAbortedEventDetails"),
    ExecutionFailed => Some("executionFailedEventDetails"),
    ExecutionStarted => Some("executionStartedEventDetails"),
    ExecutionSucceeded => Some("executionSucceededEventDetails"),
    ExecutionTimedOut => Some("executionTimedOutEventDetails"),
    ExecutionRedriven => Some("executionRedrivenEventDetails"),
    FailStateEntered => Some("stateEnteredEventDetails"),
    LambdaFunctionFailed => Some("lambdaFunctionFailedEventDetails"),
    LambdaFunctionScheduled => Some("lambdaFunctionScheduledEventDetails"),
    LambdaFunctionScheduleFailed => Some("lambdaFunctionScheduleFailedEventDetails"),
    LambdaFunctionStarted => None,
    LambdaFunctionStartFailed => Some("lambdaFunctionStartFailedEventDetails"),
    LambdaFunctionSucceeded => Some("lambdaFunctionSucceededEventDetails"),
    LambdaFunctionTimedOut => Some("lambdaFunctionTimedOutEventDetails"),
    MapIterationAborted => Some("mapIterationAbortedEventDetails"),
    MapIterationFailed => Some("mapIterationFailedEventDetails"),
    MapIterationStarted => Some("mapIterationStartedEventDetails"),
    MapIterationSucceeded => Some("mapIterationSucceededEventDetails"),
    MapStateAborted => None,
    MapStateEntered => Some("stateEnteredEventDetails"),
    MapStateExited => Some("stateExitedEventDetails"),
    MapStateFailed => None,
    MapStateStarted => Some("mapStateStartedEventDetails"),
    MapStateSucceeded => None,
    MapRunAborted => None,
    MapRunFailed => Some("mapRunFailedEventDetails"),
    MapRunStarted => Some("mapRunStartedEventDetails"),
    MapRunSucceeded => None,
    MapRunRedriven => Some("mapRunRedrivenEventDetails"),
    ParallelStateAborted => None,
    ParallelStateEntered => Some("stateEnteredEventDetails"),
    ParallelStateExited => Some("stateExitedEventDetails"),
    ParallelStateFailed => None,
    ParallelStateStarted => None,
    ParallelStateSucceeded => None,
    PassStateEntered => Some("stateEnteredEventDetails"),
    PassStateExited => Some("stateExitedEventDetails"),
    SucceedStateEntered => Some("stateEnteredEventDetails"),
    SucceedStateExited => Some("stateExitedEventDetails"),
    TaskFailed => Some("taskFailedEventDetails"),
    TaskScheduled => Some("taskScheduledEventDetails"),
    TaskStarted => Some("taskStartedEventDetails"),
    TaskStartFailed => Some("taskStartFailedEventDetails"),
    TaskStateAborted => None,
    TaskStateEntered => Some("stateEnteredEventDetails"),
    TaskStateExited => Some("stateExitedEventDetails"),
    TaskSubmitFailed => Some("taskSubmitFailedEventDetails"),
    TaskSubmitted => Some("taskSubmittedEventDetails"),
    TaskSucceeded => Some("taskSucceededEventDetails"),
    TaskTimedOut => Some("taskTimedOutEventDetails"),
    WaitStateAborted => None,
    WaitStateEntered => Some("stateEnteredEventDetails"),
    WaitStateExited => Some("stateExitedEventDetails"),
    EvaluationFailed => Some("evaluationFailedEventDetails"),
}

/// One history event. `details` holds the members of the event's details
/// object exactly as GetExecutionHistory returns them (JSON payloads such as
/// `input`/`output`/`parameters` are JSON *text*, as on the wire).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEvent {
    pub id: u64,
    pub previous_event_id: u64,
    /// Epoch milliseconds.
    pub timestamp: i64,
    pub r#type: EventType,
    pub details: Option<Map<String, Value>>,
}

impl HistoryEvent {
    /// The event as GetExecutionHistory returns it (timestamp as epoch seconds,
    /// the awsJson encoding). With `include_data` false, `input`, `output` and
    /// `parameters` are left out, as AWS does for `includeExecutionData=false`.
    pub fn to_aws_json(&self, include_data: bool) -> Value {
        let mut m = Map::new();
        m.insert(
            "timestamp".into(),
            Value::from(self.timestamp as f64 / 1000.0),
        );
        m.insert("type".into(), Value::from(self.r#type.as_str()));
        m.insert("id".into(), Value::from(self.id));
        m.insert(
            "previousEventId".into(),
            Value::from(self.previous_event_id),
        );
        if let (Some(key), Some(details)) = (self.r#type.details_key(), &self.details) {
            let mut d = details.clone();
            if !include_data {
                for k in ["input", "output", "parameters", "assignedVariables"] {
                    d.remove(k);
                }
            }
            m.insert(key.into(), Value::Object(d));
        }
        Value::Object(m)
    }
}
