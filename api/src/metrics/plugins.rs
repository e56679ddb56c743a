//! The plugins' figures as they happen: SMTP sends (through the email plugin's
//! [`EmailObserver`]) and platform sync runs (through the runner's [`SyncObserver`]). Every label
//! value is one of a fixed few, each shown from the start at zero.

use std::time::Duration;

use integrations::{
    email::observe::{EmailObserver, FailureClass},
    platform::observe::{RunOutcome, RunReport, SyncObserver},
};
use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{
        counter::Counter,
        family::Family,
        histogram::{Histogram, exponential_buckets},
    },
    registry::{Registry, Unit},
};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ClassLabels {
    class: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ChangeLabels {
    change: &'static str,
}

/// SMTP sends: how long each took, and the failures by class.
#[derive(Clone, Debug)]
pub(super) struct EmailMetrics {
    duration: Histogram,
    failures: Family<ClassLabels, Counter>,
}

impl EmailMetrics {
    pub(super) fn register(registry: &mut Registry) -> Self {
        // 1 ms to about 16 s, doubling (`plugins.email.timeout_ms` is 10 s by default).
        let duration = Histogram::new(exponential_buckets(0.001, 2.0, 15));
        registry.register_with_unit(
            "email_send_duration",
            "How long each SMTP send took, sent or failed (connection, TLS and session included when opened)",
            Unit::Seconds,
            duration.clone(),
        );
        let failures = Family::<ClassLabels, Counter>::default();
        for class in FailureClass::ALL {
            failures.get_or_create_owned(&ClassLabels { class: class.as_str() });
        }
        registry.register(
            "email_send_failures",
            "SMTP sends that failed, by class: transient (4xx), permanent (5xx), session, connection, timeout",
            failures.clone(),
        );
        Self { duration, failures }
    }
}

impl EmailObserver for EmailMetrics {
    fn sent(&self, elapsed: Duration, failure: Option<FailureClass>) {
        self.duration.observe(elapsed.as_secs_f64());
        if let Some(class) = failure {
            self.failures
                .get_or_create(&ClassLabels { class: class.as_str() })
                .inc();
        }
    }
}

/// What a sync run changed, by the label it is counted under.
const CHANGES: [&str; 5] = ["created", "updated", "removed", "kept", "exported"];

/// Platform sync runs: their duration by outcome, the numbers each read, what they changed.
#[derive(Clone, Debug)]
pub(super) struct SyncMetrics {
    duration: Family<OutcomeLabels, Histogram, fn() -> Histogram>,
    numbers: Histogram,
    changes: Family<ChangeLabels, Counter>,
}

fn run_duration_histogram() -> Histogram {
    // 10 ms to about 1.5 h, doubling.
    Histogram::new(exponential_buckets(0.01, 2.0, 20))
}

impl SyncMetrics {
    pub(super) fn register(registry: &mut Registry) -> Self {
        let duration =
            Family::<OutcomeLabels, Histogram, fn() -> Histogram>::new_with_constructor(run_duration_histogram);
        for outcome in RunOutcome::ALL {
            duration.get_or_create_owned(&OutcomeLabels {
                outcome: outcome.as_str(),
            });
        }
        registry.register_with_unit(
            "platform_sync_run_duration",
            "How long the platform sync runs this server ended took, by outcome",
            Unit::Seconds,
            duration.clone(),
        );
        // 1 to about a million, by fours.
        let numbers = Histogram::new(exponential_buckets(1.0, 4.0, 11));
        registry.register(
            "platform_sync_run_numbers",
            "Numbers the platform listed in each sync run this server ended",
            numbers.clone(),
        );
        let changes = Family::<ChangeLabels, Counter>::default();
        for change in CHANGES {
            changes.get_or_create_owned(&ChangeLabels { change });
        }
        registry.register(
            "platform_sync_changes",
            "Numbers the platform sync runs changed: created, updated, removed, kept (and flagged), exported",
            changes.clone(),
        );
        Self {
            duration,
            numbers,
            changes,
        }
    }
}

impl SyncObserver for SyncMetrics {
    fn run_ended(&self, report: &RunReport) {
        self.duration
            .get_or_create(&OutcomeLabels {
                outcome: report.outcome.as_str(),
            })
            .observe(report.elapsed.as_secs_f64());
        // Precision lost only past 2^53 numbers.
        #[allow(clippy::cast_precision_loss)]
        self.numbers.observe(report.read as f64);
        let counts = [
            report.created,
            report.updated,
            report.removed,
            report.kept,
            report.exported,
        ];
        for (change, n) in CHANGES.into_iter().zip(counts) {
            if n > 0 {
                self.changes.get_or_create(&ChangeLabels { change }).inc_by(n);
            }
        }
    }
}
