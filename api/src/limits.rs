//! Request rate limits and generation quotas, as decisions over an injected clock.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use crate::Error;
use crate::accounts::Quota;

/// A token bucket's shape: `burst` requests at once, refilled at `per_second`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateLimit {
    pub per_second: f64,
    pub burst: f64,
}

/// `<per second>,<burst>`, as flags write it: `20,200`.
impl std::str::FromStr for RateLimit {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let parsed = s.split_once(',').and_then(|(rate, burst)| {
            Some(RateLimit {
                per_second: rate.trim().parse().ok()?,
                burst: burst.trim().parse().ok()?,
            })
        });
        parsed
            .filter(|l| l.per_second >= 0.0 && l.burst >= 1.0)
            .ok_or_else(|| format!("`{s}` is not `<requests per second>,<burst>`, e.g. `20,200`"))
    }
}

impl std::fmt::Display for RateLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{},{}", self.per_second, self.burst)
    }
}

/// One token bucket per key (a user, an IP address).
#[derive(Debug)]
pub struct RateLimiter {
    limit: RateLimit,
    buckets: Mutex<HashMap<String, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Timestamp,
}

/// Past this many keys, buckets that have refilled completely are forgotten: they hold nothing a
/// fresh bucket would not.
const FORGET_FULL_BUCKETS_ABOVE: usize = 10_000;

impl RateLimiter {
    pub fn new(limit: RateLimit) -> RateLimiter {
        RateLimiter {
            limit,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request from `key`'s bucket, or says how long until there is one.
    pub fn check(&self, key: &str, now: Timestamp) -> Result<(), Duration> {
        let limit = self.limit;
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() > FORGET_FULL_BUCKETS_ABOVE {
            buckets.retain(|_, bucket| refilled(*bucket, limit, now) < limit.burst);
        }
        let bucket = buckets.entry(key.to_owned()).or_insert(Bucket {
            tokens: limit.burst,
            at: now,
        });
        let tokens = refilled(*bucket, limit, now);
        if tokens >= 1.0 {
            *bucket = Bucket {
                tokens: tokens - 1.0,
                at: now,
            };
            Ok(())
        } else {
            *bucket = Bucket { tokens, at: now };
            let wait = if limit.per_second > 0.0 {
                (1.0 - tokens) / limit.per_second
            } else {
                3600.0
            };
            Err(Duration::from_secs_f64(wait.max(0.0)))
        }
    }
}

fn refilled(bucket: Bucket, limit: RateLimit, now: Timestamp) -> f64 {
    let elapsed = now.duration_since(bucket.at).as_secs_f64().max(0.0);
    (bucket.tokens + elapsed * limit.per_second).min(limit.burst)
}

const DAY: SignedDuration = SignedDuration::from_hours(24);

/// How soon a user whose running generations fill the quota is told to look again.
const RETRY_WHEN_RUNNING: Duration = Duration::from_secs(30);

/// Whether one more Generation may start, given how many of the user's are unfinished and when
/// the user created Generations in the last 24 hours (oldest first).
pub fn admit(quota: Quota, unfinished: usize, created: &[Timestamp], now: Timestamp) -> Result<(), Error> {
    let concurrent = quota.concurrent as usize;
    if unfinished >= concurrent {
        return Err(Error::Quota {
            message: format!(
                "you have {unfinished} generation(s) pending or running and your quota allows {concurrent} at once; \
                 try again when one finishes, or cancel one"
            ),
            retry_after: RETRY_WHEN_RUNNING,
        });
    }
    let per_day = quota.per_day as usize;
    let recent: Vec<Timestamp> = created.iter().copied().filter(|t| *t > now - DAY).collect();
    if recent.len() >= per_day {
        // The window frees a place when the creation that filled it is a day old.
        let frees_at = recent.get(recent.len() - per_day).map_or(now + DAY, |t| *t + DAY);
        let wait = frees_at.duration_since(now);
        let wait = Duration::from_secs(wait.as_secs().max(1).unsigned_abs());
        return Err(Error::Quota {
            message: format!(
                "you have created {} generation(s) in the last 24 hours and your quota allows {per_day}; \
                 try again after {} (in {})",
                recent.len(),
                frees_at.round(jiff::Unit::Second).unwrap_or(frees_at),
                human(wait),
            ),
            retry_after: wait,
        });
    }
    Ok(())
}

fn human(wait: Duration) -> String {
    let minutes = wait.as_secs().div_ceil(60);
    match minutes {
        0..=1 => "a minute".to_owned(),
        2..=59 => format!("{minutes} minutes"),
        _ => format!("{} h {} min", minutes / 60, minutes % 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn a_bucket_allows_its_burst_then_refills_at_its_rate() {
        let limiter = RateLimiter::new(RateLimit {
            per_second: 2.0,
            burst: 3.0,
        });
        let t0 = at("2026-01-01T00:00:00Z");
        for _ in 0..3 {
            assert!(limiter.check("ann", t0).is_ok());
        }
        let wait = limiter.check("ann", t0).unwrap_err();
        assert_eq!(wait, Duration::from_millis(500));
        assert!(limiter.check("bob", t0).is_ok(), "keys have their own buckets");
        assert!(
            limiter
                .check("ann", t0 + SignedDuration::from_millis(500))
                .is_ok()
        );
        assert!(
            limiter
                .check("ann", t0 + SignedDuration::from_millis(500))
                .is_err()
        );
        // A long pause refills to the burst, not beyond.
        let later = t0 + SignedDuration::from_secs(60);
        for _ in 0..3 {
            assert!(limiter.check("ann", later).is_ok());
        }
        assert!(limiter.check("ann", later).is_err());
    }

    #[test]
    fn quotas_admit_until_full_and_say_when_to_come_back() {
        let now = at("2026-01-02T12:00:00Z");
        let quota = Quota {
            concurrent: 2,
            per_day: 3,
        };
        let cases: &[(&str, usize, &[&str], Option<u64>)] = &[
            ("nothing yet", 0, &[], None),
            ("one running", 1, &["2026-01-02T11:00:00Z"], None),
            ("two running", 2, &[], Some(30)),
            (
                "three today: the oldest frees a place at 08:00 tomorrow",
                0,
                &[
                    "2026-01-02T08:00:00Z",
                    "2026-01-02T09:00:00Z",
                    "2026-01-02T10:00:00Z",
                ],
                Some(20 * 3600),
            ),
            (
                "older than a day do not count",
                0,
                &[
                    "2026-01-01T11:59:59Z",
                    "2026-01-02T09:00:00Z",
                    "2026-01-02T10:00:00Z",
                ],
                None,
            ),
        ];
        for (name, unfinished, created, expected) in cases {
            let created: Vec<Timestamp> = created.iter().map(|s| at(s)).collect();
            let outcome = admit(quota, *unfinished, &created, now);
            match (outcome, expected) {
                (Ok(()), None) => {}
                (Err(Error::Quota { retry_after, message }), Some(seconds)) => {
                    assert_eq!(retry_after.as_secs(), *seconds, "{name}");
                    assert!(message.contains("try again"), "{name}: {message}");
                }
                (other, _) => panic!("{name}: {other:?}"),
            }
        }
    }
}
