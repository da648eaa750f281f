//! SQS's errors: the JSON-protocol code (`__type`), the query-protocol code
//! (`x-amzn-query-error`, `<Code>`) and the HTTP status, as the SQS model
//! declares them (`awsQueryError` traits).

use crate::ServiceError;

fn err(code: &str, query_code: &str, status: u16, message: impl Into<String>) -> ServiceError {
    let e = ServiceError::client(code, message).with_status(status);
    if query_code == code {
        e
    } else {
        e.with_query_code(query_code)
    }
}

pub(crate) fn queue_does_not_exist() -> ServiceError {
    err(
        "QueueDoesNotExist",
        "AWS.SimpleQueueService.NonExistentQueue",
        400,
        "The specified queue does not exist.",
    )
}

pub(crate) fn queue_name_exists(message: impl Into<String>) -> ServiceError {
    err("QueueNameExists", "QueueAlreadyExists", 400, message)
}

pub(crate) fn invalid_parameter(message: impl Into<String>) -> ServiceError {
    err(
        "InvalidParameterValue",
        "InvalidParameterValue",
        400,
        message,
    )
}

/// `Value {value} for parameter {name} is invalid. Reason: {reason}`
pub(crate) fn invalid_value(name: &str, value: &str, reason: &str) -> ServiceError {
    invalid_parameter(format!(
        "Value {value} for parameter {name} is invalid. Reason: {reason}"
    ))
}

pub(crate) fn missing_parameter(name: &str) -> ServiceError {
    err(
        "MissingParameter",
        "MissingParameter",
        400,
        format!("The request must contain the parameter {name}."),
    )
}

pub(crate) fn invalid_attribute_name(message: impl Into<String>) -> ServiceError {
    err("InvalidAttributeName", "InvalidAttributeName", 400, message)
}

pub(crate) fn invalid_attribute_value(message: impl Into<String>) -> ServiceError {
    err(
        "InvalidAttributeValue",
        "InvalidAttributeValue",
        400,
        message,
    )
}

pub(crate) fn receipt_handle_invalid(handle: &str) -> ServiceError {
    err(
        "ReceiptHandleIsInvalid",
        "ReceiptHandleIsInvalid",
        404,
        format!("The input receipt handle \"{handle}\" is not a valid receipt handle."),
    )
}

pub(crate) fn message_not_inflight() -> ServiceError {
    err(
        "MessageNotInflight",
        "AWS.SimpleQueueService.MessageNotInflight",
        400,
        "The message referred to isn't in flight.",
    )
}

pub(crate) fn empty_batch(entry: &str) -> ServiceError {
    err(
        "EmptyBatchRequest",
        "AWS.SimpleQueueService.EmptyBatchRequest",
        400,
        format!("There should be at least one {entry} in the request."),
    )
}

pub(crate) fn too_many_entries(n: usize) -> ServiceError {
    err(
        "TooManyEntriesInBatchRequest",
        "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
        400,
        format!("Maximum number of entries per request are 10. You have sent {n}."),
    )
}

pub(crate) fn ids_not_distinct(id: &str) -> ServiceError {
    err(
        "BatchEntryIdsNotDistinct",
        "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
        400,
        format!("Id {id} repeated."),
    )
}

pub(crate) fn invalid_batch_entry_id() -> ServiceError {
    err(
        "InvalidBatchEntryId",
        "AWS.SimpleQueueService.InvalidBatchEntryId",
        400,
        "A batch entry id can only contain alphanumeric characters, hyphens and underscores. \
         It can be at most 80 letters long.",
    )
}

pub(crate) fn batch_too_long(max: usize, sent: usize) -> ServiceError {
    err(
        "BatchRequestTooLong",
        "AWS.SimpleQueueService.BatchRequestTooLong",
        400,
        format!("Batch requests cannot be longer than {max} bytes. You have sent {sent} bytes."),
    )
}

pub(crate) fn invalid_message_contents() -> ServiceError {
    err(
        "InvalidMessageContents",
        "InvalidMessageContents",
        400,
        "Invalid characters found. Valid characters are #x9 | #xA | #xD | #x20 to #xD7FF | \
         #xE000 to #xFFFD | #x10000 to #x10FFFF",
    )
}

pub(crate) fn purge_in_progress(name: &str) -> ServiceError {
    err(
        "PurgeQueueInProgress",
        "AWS.SimpleQueueService.PurgeQueueInProgress",
        403,
        format!("Only one PurgeQueue operation on {name} is allowed every 60 seconds."),
    )
}

pub(crate) fn unsupported(message: impl Into<String>) -> ServiceError {
    err(
        "UnsupportedOperation",
        "AWS.SimpleQueueService.UnsupportedOperation",
        400,
        message,
    )
}

pub(crate) fn invalid_action(action: &str) -> ServiceError {
    err(
        "InvalidAction",
        "InvalidAction",
        400,
        format!("The action {action} is not valid for this endpoint."),
    )
}
