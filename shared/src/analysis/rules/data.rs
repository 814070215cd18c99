//! Data rules of one workflow: opportunity steps without stage, pipeline or an identified record.

use super::{quoted, Ctx, Finding, Rule};
use crate::analysis::model::{Kind, Step};

pub(crate) const CREATE_OPP: &[&str] = &["create_opportunity", "internal_create_opportunity"];
pub(crate) const UPDATE_OPP: &[&str] = &["internal_update_opportunity", "update_opportunity"];

pub(crate) fn stage_of<'s>(s: &'s Step<'_>) -> Option<&'s str> {
    s.attr_any(&[
        "pipelineStageId",
        "stageId",
        "pipeline_stage_id",
        "stage_id",
    ])
}

pub(crate) fn pipeline_of<'s>(s: &'s Step<'_>) -> Option<&'s str> {
    s.attr_any(&["pipelineId", "pipeline_id"])
}

pub(super) fn run(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let g = ctx.g;
    let steps = &ctx.w.steps;
    let mut identified: Option<Vec<bool>> = None;
    for i in 0..g.len() {
        let create = g.live(i, Kind::CreateOpportunity);
        let update = g.live(i, Kind::UpdateOpportunity);
        if !create && !update {
            continue;
        }
        let s = &steps[i];
        let problem = if create && stage_of(s).is_none() {
            Some("creates an opportunity without a stage".to_owned())
        } else if stage_of(s).is_some() && pipeline_of(s).is_none() {
            Some("sets a stage without its pipeline".to_owned())
        } else if update
            && ctx.w.triggers.is_some()
            && !ctx.has_trigger_like("opportunity")
            && !ctx.has_trigger_like("pipeline")
        {
            let after = identified.get_or_insert_with(|| {
                g.after(
                    (0..g.len()).filter(|&j| {
                        matches!(g.kinds[j], Kind::FindOpportunity | Kind::CreateOpportunity)
                    }),
                    |_| false,
                )
            });
            (!after[i]).then(|| {
                "updates an opportunity but nothing before it finds or creates one".to_owned()
            })
        } else {
            None
        };
        if let Some(p) = problem {
            ctx.emit(
                out,
                Rule::OpportunityMisconfigured,
                Some(i),
                format!("Step {} {p}.", quoted(s.label())),
            );
        }
    }
}
