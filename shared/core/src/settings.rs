//! Per-account rule settings (`GET`/`PUT /api/settings/rules`): the model of the CLI's
//! `.workflow-audit.toml` as JSON (`workflow_analyzer::RuleConfig`: rules off or re-levelled,
//! rule options, exceptions by workflow and step), parsed and validated whole before it is
//! stored on the account, and applied to the account's analyses while it is on Pro.

use serde_json::Value;
use workflow_analyzer::{RuleConfig, CONFIG_KEYS};

use crate::plans::Plan;
use crate::store::accounts::Account;
use crate::store::StoreError;

/// Largest settings body: room for hundreds of exceptions with their reasons, far under the
/// account item's 400 KB.
pub const MAX_SETTINGS_BYTES: usize = 64 * 1024;

/// Why a settings body was refused: every problem found, each a sentence naming what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the rule settings are not valid: {}", .0.join("; "))]
pub struct InvalidSettings(pub Vec<String>);

/// The rule settings in `body` (a JSON document, already checked for type, size and depth at
/// the edge): an object with only the configuration's keys, each of the right shape, naming
/// only known rules and families, every exception with a reason, every option in range.
pub fn parse_rule_settings(body: &[u8]) -> Result<RuleConfig, InvalidSettings> {
    let doc: Value = serde_json::from_slice(body)
        .map_err(|e| InvalidSettings(vec![format!("the body is not JSON ({e})")]))?;
    let Value::Object(fields) = &doc else {
        return Err(InvalidSettings(vec![
            "the body must be a JSON object".to_owned()
        ]));
    };
    let unknown: Vec<String> = fields
        .keys()
        .filter(|k| !CONFIG_KEYS.contains(&k.as_str()))
        .map(|k| format!("unknown key \"{k}\" (known: {})", CONFIG_KEYS.join(", ")))
        .collect();
    if !unknown.is_empty() {
        return Err(InvalidSettings(unknown));
    }
    let config: RuleConfig = serde_path_to_error::deserialize(doc).map_err(|e| {
        let path = e.path().to_string();
        InvalidSettings(vec![format!("{path}: {}", e.into_inner())])
    })?;
    let problems = config.problems();
    if problems.is_empty() {
        Ok(config)
    } else {
        Err(InvalidSettings(problems))
    }
}

/// The rules an analysis of `account` on `plan` runs with: its settings on Pro, the catalogue's
/// defaults on Free (settings are a Pro feature; a lapsed subscription keeps them stored,
/// unapplied and unread, until it is renewed).
pub fn rules_for(account: &Account, plan: Plan) -> Result<RuleConfig, StoreError> {
    match plan {
        Plan::Pro => Ok(account.rule_settings()?.unwrap_or_default()),
        Plan::Free => Ok(RuleConfig::default()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(body: &str) -> Vec<String> {
        parse_rule_settings(body.as_bytes())
            .err()
            .map(|e| e.0)
            .unwrap_or_default()
    }

    #[test]
    fn a_partial_configuration_keeps_the_defaults_of_what_it_leaves_out() {
        let config = parse_rule_settings(
            br#"{"disabled": ["generic-name"], "options": {"waitTooLong": {"maxDays": 30}}}"#,
        )
        .expect("valid");
        assert_eq!(config.disabled, ["generic-name"]);
        assert_eq!(config.options.wait_too_long.max_days, 30);
        assert_eq!(config.options.message_burst.window_hours, 24);
        assert_eq!(parse_rule_settings(b"{}"), Ok(RuleConfig::default()));
    }

    #[test]
    fn every_problem_is_named() {
        assert!(problems(r#"{"disabled": ["no-such-rule"]}"#)[0].contains("no-such-rule"));
        let both = problems(
            r#"{"exceptions": [{"rule": "nope", "reason": " "}], "options": {"staleDraft": {"days": 0}}}"#,
        );
        assert_eq!(both.len(), 3, "{both:?}");
        assert!(problems(r#"{"disabeld": []}"#)[0].contains("unknown key \"disabeld\""));
        let typed = problems(r#"{"severity": {"generic-name": "urgent"}}"#);
        assert!(typed[0].starts_with("severity.generic-name"), "{typed:?}");
        assert!(problems(r#"{"options": {"waitTooLong": {"maxDayz": 3}}}"#)[0].contains("maxDayz"));
        assert!(problems(r#"{"exceptions": [{"rule": "generic-name"}]}"#)[0].contains("reason"));
        assert!(problems("[]")[0].contains("object"));
    }

    #[test]
    fn settings_apply_on_pro_only() {
        let account = |stored: &str| Account {
            stored_rule_settings: Some(stored.to_owned()),
            ..Account::default()
        };
        let off = account(r#"{"disabled": ["generic-name"]}"#);
        let pro = rules_for(&off, Plan::Pro).expect("readable");
        assert_eq!(pro.disabled, ["generic-name"]);
        assert_eq!(
            rules_for(&off, Plan::Free).ok(),
            Some(RuleConfig::default())
        );
        assert_eq!(
            rules_for(&Account::default(), Plan::Pro).ok(),
            Some(RuleConfig::default())
        );
        // Unreadable settings are an error where they would apply, never a silent default.
        let broken = account("{not json");
        assert!(rules_for(&broken, Plan::Pro).is_err());
        assert_eq!(
            rules_for(&broken, Plan::Free).ok(),
            Some(RuleConfig::default())
        );
    }
}
