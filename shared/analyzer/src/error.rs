//! The typed error of the analyzer's input boundary: what was wrong with the bytes and where.

/// Which limit an oversized input broke, so the caller can say which one (and answer 413).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Limit {
    /// The body is larger than [`super::MAX_INPUT_BYTES`].
    Bytes,
    /// More steps (summed over every workflow) than [`super::MAX_STEPS`].
    Steps,
    /// A bundle with more workflows than [`super::MAX_WORKFLOWS`].
    Workflows,
    /// A workflow with more triggers than [`super::MAX_TRIGGERS`].
    Triggers,
    /// A trigger with more conditions than [`super::MAX_CONDITIONS`].
    Conditions,
    /// A trigger condition listing more values than [`super::MAX_CONDITION_VALUES`].
    ConditionValues,
    /// A step with more paths (`next` ids) than [`super::MAX_PATHS`].
    Paths,
}

impl Limit {
    fn unit(self) -> &'static str {
        match self {
            Limit::Bytes => "bytes",
            Limit::Steps => "steps",
            Limit::Workflows => "workflows",
            Limit::Triggers => "triggers in one workflow",
            Limit::Conditions => "conditions in one trigger",
            Limit::ConditionValues => "values in one trigger condition",
            Limit::Paths => "paths from one step",
        }
    }
}

/// Why an input could not be analyzed. Broken references inside a workflow are findings, never
/// errors: this enum only covers bodies that are not JSON, not a workflow, or too large, so the
/// HTTP layer can map each variant to one status (400, 400, 413) in exactly one place.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    /// The bytes are not JSON; line and column point at the first offending character.
    #[error("the body is not valid JSON: {message} (line {line}, column {column})")]
    NotJson {
        line: usize,
        column: usize,
        message: String,
    },
    /// The JSON is well formed but is not a workflow, a `{workflow, triggers}` body or a bundle.
    /// `pointer` is an RFC 6901 JSON pointer to the offending value ("" is the whole document).
    #[error("the body is not a workflow: {what} (at JSON pointer \"{pointer}\")")]
    NotAWorkflow { pointer: String, what: String },
    /// The input is over a documented limit; rejected before any analysis work.
    #[error("the input is too large: {actual} {} where at most {limit} are accepted", .what.unit())]
    TooLarge {
        what: Limit,
        limit: usize,
        actual: usize,
    },
}

impl InputError {
    /// A stable machine-readable code for the API's error body.
    pub fn code(&self) -> &'static str {
        match self {
            InputError::NotJson { .. } => "not_json",
            InputError::NotAWorkflow { .. } => "not_a_workflow",
            InputError::TooLarge { .. } => "too_large",
        }
    }

    pub(crate) fn not_workflow(pointer: &str, what: impl Into<String>) -> Self {
        InputError::NotAWorkflow {
            pointer: pointer.to_owned(),
            what: what.into(),
        }
    }
}
