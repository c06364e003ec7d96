use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

/// The condition types a Generation reports, in the order a successful run reaches them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConditionType {
    Accepted,
    Launched,
    Generated,
    Verified,
    Delivered,
    /// Whether the delivered app runs as its live preview (`spec.delivery.deploy.target:
    /// preview`); set only on Delivered Generations, after the lifecycle has ended.
    Previewing,
}

impl ConditionType {
    pub const ALL: [ConditionType; 6] = [
        Self::Accepted,
        Self::Launched,
        Self::Generated,
        Self::Verified,
        Self::Delivered,
        Self::Previewing,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "Accepted",
            Self::Launched => "Launched",
            Self::Generated => "Generated",
            Self::Verified => "Verified",
            Self::Delivered => "Delivered",
            Self::Previewing => "Previewing",
        }
    }
}

/// `metav1.ConditionStatus`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConditionStatus {
    True,
    False,
    Unknown,
}

impl ConditionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::True => "True",
            Self::False => "False",
            Self::Unknown => "Unknown",
        }
    }
}

/// Sets condition `type_` in `conditions`, keeping the list ordered by [`ConditionType::ALL`].
///
/// `lastTransitionTime` moves to `now` only when the status changes, as Kubernetes API
/// conventions ask; a call that changes nothing leaves the list equal to what it was, so a
/// reconcile that observes nothing new writes nothing.
pub fn set_condition(
    conditions: &mut Vec<Condition>,
    type_: ConditionType,
    status: ConditionStatus,
    reason: &str,
    message: &str,
    observed_generation: Option<i64>,
    now: jiff::Timestamp,
) {
    let existing = conditions.iter().position(|c| c.type_ == type_.as_str());
    let last_transition_time = match existing.map(|i| &conditions[i]) {
        Some(c) if c.status == status.as_str() => c.last_transition_time.clone(),
        _ => Time(now),
    };
    let condition = Condition {
        type_: type_.as_str().to_owned(),
        status: status.as_str().to_owned(),
        reason: reason.to_owned(),
        message: message.to_owned(),
        observed_generation,
        last_transition_time,
    };
    match existing {
        Some(i) => conditions[i] = condition,
        None => {
            let rank = |t: &str| ConditionType::ALL.iter().position(|c| c.as_str() == t);
            let at = conditions
                .iter()
                .position(|c| rank(&c.type_) > rank(type_.as_str()))
                .unwrap_or(conditions.len());
            conditions.insert(at, condition);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> jiff::Timestamp {
        jiff::Timestamp::from_second(1_800_000_000 + seconds).unwrap_or_default()
    }

    #[test]
    fn an_unchanged_status_keeps_its_transition_time() {
        let mut conditions = Vec::new();
        set_condition(
            &mut conditions,
            ConditionType::Launched,
            ConditionStatus::True,
            "Launched",
            "attempt 1",
            Some(1),
            at(0),
        );
        set_condition(
            &mut conditions,
            ConditionType::Launched,
            ConditionStatus::True,
            "Running",
            "attempt 1 running",
            Some(2),
            at(30),
        );
        assert_eq!(conditions.len(), 1);
        assert_eq!(conditions[0].last_transition_time, Time(at(0)));
        assert_eq!(conditions[0].reason, "Running");
        assert_eq!(conditions[0].observed_generation, Some(2));
    }

    #[test]
    fn a_changed_status_moves_the_transition_time() {
        let mut conditions = Vec::new();
        set_condition(
            &mut conditions,
            ConditionType::Delivered,
            ConditionStatus::False,
            "Pending",
            "",
            None,
            at(0),
        );
        set_condition(
            &mut conditions,
            ConditionType::Delivered,
            ConditionStatus::True,
            "Delivered",
            "",
            None,
            at(5),
        );
        assert_eq!(conditions[0].last_transition_time, Time(at(5)));
        assert_eq!(conditions[0].status, "True");
    }

    #[test]
    fn setting_the_same_condition_twice_is_a_no_op() {
        let mut once = Vec::new();
        set_condition(
            &mut once,
            ConditionType::Accepted,
            ConditionStatus::True,
            "Valid",
            "ok",
            Some(1),
            at(0),
        );
        let mut twice = once.clone();
        set_condition(
            &mut twice,
            ConditionType::Accepted,
            ConditionStatus::True,
            "Valid",
            "ok",
            Some(1),
            at(60),
        );
        assert_eq!(once, twice);
    }

    #[test]
    fn conditions_stay_in_lifecycle_order() {
        let mut conditions = Vec::new();
        for t in [
            ConditionType::Delivered,
            ConditionType::Accepted,
            ConditionType::Verified,
            ConditionType::Launched,
        ] {
            set_condition(
                &mut conditions,
                t,
                ConditionStatus::Unknown,
                "Waiting",
                "",
                None,
                at(0),
            );
        }
        let order: Vec<_> = conditions.iter().map(|c| c.type_.as_str()).collect();
        assert_eq!(order, ["Accepted", "Launched", "Verified", "Delivered"]);
    }
}
