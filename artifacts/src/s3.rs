use std::collections::BTreeMap;
use std::error::Error as StdError;
use std::time::{Duration, SystemTime};

use aws_config::{BehaviorVersion, ConfigLoader, SdkConfig};
use aws_sdk_s3::config::{ProvideCredentials, Region, SharedCredentialsProvider};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    BucketLifecycleConfiguration, Delete, ExpirationStatus, LifecycleExpiration, LifecycleRule,
    LifecycleRuleFilter, ObjectIdentifier,
};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use bytes::Bytes;

use crate::error::{ArtifactError, Result};
use crate::grant::{Grant, GrantRequest, Signer, Upload, iso8601, post_policy_fields, without_query};
use crate::key::{validate_deletion, validate_key, validate_prefix};
use crate::store::ArtifactStore;

/// The most keys one DeleteObjects request may name.
const DELETE_BATCH: usize = 1000;

/// The folder every Generation's artifacts live under (DESIGN.md, "Artifact layout").
const GENERATIONS_DIR: &str = "generations/";

/// Where an [`S3Store`] keeps its objects, and how to reach the bucket. Credentials are not here:
/// they come from the standard AWS chain (environment, profile, web identity, ECS task role,
/// instance profile).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct S3Config {
    pub bucket: String,
    /// The folder in the bucket that is the store's root, without leading or trailing `/`;
    /// empty for the whole bucket.
    pub prefix: String,
    /// Overrides the region from the AWS chain.
    pub region: Option<String>,
    /// An S3-compatible endpoint (`http://127.0.0.1:9000`) instead of AWS's.
    pub endpoint: Option<String>,
    /// `endpoint/bucket/key` instead of `bucket.endpoint/key`, which most S3-compatible servers need.
    pub force_path_style: bool,
}

/// An [`ArtifactStore`] in an S3 bucket: key `a/b.json` is the object `<prefix>/a/b.json`.
///
/// Every put is one PutObject, which S3 makes visible whole or not at all; one request holds up
/// to 5 GB, far above any artifact appgen writes, so there is no multipart upload.
#[derive(Debug, Clone)]
pub struct S3Store {
    client: aws_sdk_s3::Client,
    /// What signs grants' POST policies, which the SDK has no builder for.
    credentials: Option<SharedCredentialsProvider>,
    bucket: String,
    /// Empty, or the configured prefix with one trailing `/`, ready to put before a key.
    root: String,
}

/// The standard AWS configuration chain (environment, profile, web identity, ECS task role,
/// instance profile), speaking HTTPS through rustls with ring (the workspace's one crypto
/// provider). Every AWS client of appgen's starts here; callers that need more than the chain
/// (static credentials in tests, say) adjust it before loading.
pub fn aws_config_loader() -> ConfigLoader {
    let http_client = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https();
    aws_config::defaults(BehaviorVersion::latest()).http_client(http_client)
}

/// The chain's settings, in `region` when one is given: also the region that credential
/// providers such as web identity use.
pub async fn load_aws_config(region: Option<&str>) -> SdkConfig {
    let loader = aws_config_loader();
    match region {
        Some(region) => loader.region(Region::new(region.to_owned())),
        None => loader,
    }
    .load()
    .await
}

impl S3Store {
    /// A store whose credentials and remaining settings come from the standard AWS chain.
    /// Nothing is sent to S3 until the first call.
    pub async fn connect(config: S3Config) -> Result<Self> {
        let sdk_config = load_aws_config(config.region.as_deref()).await;
        Self::from_sdk_config(config, &sdk_config)
    }

    /// A store using `sdk_config` for credentials and defaults; `config`'s region, endpoint and
    /// path style win over it.
    pub fn from_sdk_config(config: S3Config, sdk_config: &SdkConfig) -> Result<Self> {
        let refuse = |reason: String| ArtifactError::S3Config {
            bucket: config.bucket.clone(),
            reason,
        };
        validate_bucket(&config.bucket).map_err(|reason| refuse(reason.to_owned()))?;
        let root = normalize_prefix(&config.prefix).map_err(|error| refuse(error.to_string()))?;
        if let Some(endpoint) = &config.endpoint
            && !(endpoint.starts_with("http://") || endpoint.starts_with("https://"))
        {
            return Err(refuse(format!(
                "endpoint {endpoint:?} must be an http:// or https:// URL"
            )));
        }

        let mut builder =
            aws_sdk_s3::config::Builder::from(sdk_config).force_path_style(config.force_path_style);
        if let Some(region) = &config.region {
            builder = builder.region(Region::new(region.clone()));
        }
        if let Some(endpoint) = &config.endpoint {
            builder = builder.endpoint_url(endpoint);
        }
        let s3_config = builder.build();
        if s3_config.region().is_none() {
            return Err(refuse(
                "no region is configured: set AWS_REGION to the bucket's region".to_owned(),
            ));
        }
        Ok(S3Store {
            client: aws_sdk_s3::Client::from_conf(s3_config),
            credentials: sdk_config.credentials_provider(),
            bucket: config.bucket,
            root,
        })
    }

    /// Makes the bucket delete every object under `<prefix>/generations/` `days` days after it
    /// was written, through a lifecycle rule of its own. Calling it again replaces that rule and
    /// keeps the bucket's other rules.
    pub async fn expire_generations_after(&self, days: u32) -> Result<()> {
        let days_i32 = i32::try_from(days)
            .ok()
            .filter(|days| *days >= 1)
            .ok_or(ArtifactError::InvalidExpiry { days })?;
        let generations = self.object_key(GENERATIONS_DIR);
        let rule_id = self.expiry_rule_id();
        let mut rules: Vec<LifecycleRule> = self
            .lifecycle_rules()
            .await?
            .into_iter()
            .filter(|rule| rule.id() != Some(rule_id.as_str()))
            .collect();
        let build_error =
            |error: aws_sdk_s3::error::BuildError| self.lifecycle_build_error(&generations, error);
        rules.push(
            LifecycleRule::builder()
                .id(rule_id)
                .status(ExpirationStatus::Enabled)
                .filter(LifecycleRuleFilter::builder().prefix(&generations).build())
                .expiration(LifecycleExpiration::builder().days(days_i32).build())
                .build()
                .map_err(build_error)?,
        );
        let configuration = BucketLifecycleConfiguration::builder()
            .set_rules(Some(rules))
            .build()
            .map_err(build_error)?;
        self.client
            .put_bucket_lifecycle_configuration()
            .bucket(&self.bucket)
            .lifecycle_configuration(configuration)
            .send()
            .await
            .map_err(|error| self.request_error("set the lifecycle rule for", &generations, error))?;
        Ok(())
    }

    /// After how many days the rule of [`S3Store::expire_generations_after`] expires generations,
    /// or None when the bucket has no such rule enabled.
    pub async fn generation_expiry_days(&self) -> Result<Option<u32>> {
        let rule_id = self.expiry_rule_id();
        Ok(self
            .lifecycle_rules()
            .await?
            .iter()
            .filter(|rule| rule.id() == Some(rule_id.as_str()) && *rule.status() == ExpirationStatus::Enabled)
            .find_map(|rule| rule.expiration()?.days())
            .and_then(|days| u32::try_from(days).ok()))
    }

    /// The bucket's lifecycle rules; none when it has no lifecycle configuration.
    async fn lifecycle_rules(&self) -> Result<Vec<LifecycleRule>> {
        let answer = self
            .client
            .get_bucket_lifecycle_configuration()
            .bucket(&self.bucket)
            .send()
            .await;
        match answer {
            Ok(output) => Ok(output.rules.unwrap_or_default()),
            Err(error)
                if error
                    .as_service_error()
                    .and_then(ProvideErrorMetadata::code)
                    .is_some_and(|code| code == "NoSuchLifecycleConfiguration") =>
            {
                Ok(Vec::new())
            }
            Err(error) => Err(self.request_error("read the lifecycle rules of", "", error)),
        }
    }

    /// One rule per store root, so stores sharing a bucket under different prefixes keep theirs.
    fn expiry_rule_id(&self) -> String {
        format!("appgen-expire-{}", self.object_key(GENERATIONS_DIR))
    }

    fn lifecycle_build_error(&self, key: &str, error: aws_sdk_s3::error::BuildError) -> ArtifactError {
        ArtifactError::S3 {
            action: "build the lifecycle rule for",
            bucket: self.bucket.clone(),
            key: key.to_owned(),
            reason: error.to_string(),
            hint: "this is a bug in appgen-artifacts; please report it",
        }
    }

    fn object_key(&self, key: &str) -> String {
        format!("{}{key}", self.root)
    }

    fn request_error<E>(&self, action: &'static str, key: &str, error: SdkError<E>) -> ArtifactError
    where
        E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
    {
        let (reason, hint) = describe(&error);
        ArtifactError::S3 {
            action,
            bucket: self.bucket.clone(),
            key: key.to_owned(),
            reason,
            hint,
        }
    }

    /// Every object key in the bucket under `prefix` (already including the root), in S3's order.
    async fn list_object_keys(&self, prefix: &str) -> Result<Vec<String>> {
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        let mut keys = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|error| self.request_error("list", prefix, error))?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|object| object.key().map(str::to_owned)),
            );
        }
        Ok(keys)
    }
}

#[async_trait::async_trait]
impl ArtifactStore for S3Store {
    async fn put(&self, key: &str, bytes: Bytes) -> Result<()> {
        validate_key(key)?;
        let object_key = self.object_key(key);
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(&object_key)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|error| self.request_error("put", &object_key, error))?;
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Option<Bytes>> {
        validate_key(key)?;
        let object_key = self.object_key(key);
        let answer = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(&object_key)
            .send()
            .await;
        let output = match answer {
            Ok(output) => output,
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|error| error.is_no_such_key()) =>
            {
                return Ok(None);
            }
            Err(error) => return Err(self.request_error("get", &object_key, error)),
        };
        let body = output.body.collect().await.map_err(|error| ArtifactError::S3 {
            action: "read the body of",
            bucket: self.bucket.clone(),
            key: object_key.clone(),
            reason: error_chain(&error),
            hint: "the connection broke mid-download; try again",
        })?;
        Ok(Some(body.into_bytes()))
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>> {
        validate_prefix(prefix)?;
        let mut keys: Vec<String> = self
            .list_object_keys(&self.object_key(prefix))
            .await?
            .into_iter()
            .filter_map(|object_key| {
                let key = object_key.strip_prefix(&self.root)?.to_owned();
                // Objects written by other tools may have names no store key can have.
                if validate_key(&key).is_err() {
                    tracing::warn!(bucket = %self.bucket, key = %object_key, "ignoring an object whose name is not a valid artifact key");
                    return None;
                }
                Some(key)
            })
            .collect();
        // S3 already lists in UTF-8 byte order, which is String's; compatible servers may not.
        keys.sort();
        Ok(keys)
    }

    async fn delete_prefix(&self, prefix: &str) -> Result<()> {
        validate_deletion(prefix)?;
        let object_prefix = self.object_key(prefix);
        // Listed in full before deleting, so that deleting cannot disturb the listing's pages.
        let keys = self.list_object_keys(&object_prefix).await?;
        for batch in keys.chunks(DELETE_BATCH) {
            let objects = batch
                .iter()
                .map(|key| ObjectIdentifier::builder().key(key).build())
                .collect::<std::result::Result<Vec<_>, _>>()
                .and_then(|objects| Delete::builder().set_objects(Some(objects)).quiet(true).build())
                .map_err(|error| ArtifactError::S3 {
                    action: "build the delete request for",
                    bucket: self.bucket.clone(),
                    key: object_prefix.clone(),
                    reason: error.to_string(),
                    hint: "this is a bug in appgen-artifacts; please report it",
                })?;
            let output = self
                .client
                .delete_objects()
                .bucket(&self.bucket)
                .delete(objects)
                .send()
                .await
                .map_err(|error| self.request_error("delete objects under", &object_prefix, error))?;
            // DeleteObjects answers 200 even when some keys could not be deleted.
            if let Some(failed) = output.errors().first() {
                return Err(ArtifactError::S3 {
                    action: "delete",
                    bucket: self.bucket.clone(),
                    key: failed.key().unwrap_or(&object_prefix).to_owned(),
                    reason: format!(
                        "{}: {} ({} of {} keys in the batch failed)",
                        failed.code().unwrap_or("no error code"),
                        failed.message().unwrap_or("no message"),
                        output.errors().len(),
                        batch.len()
                    ),
                    hint: hint_for_code(failed.code()),
                });
            }
        }
        Ok(())
    }

    fn uri(&self, key: &str) -> String {
        format!("s3://{}/{}", self.bucket, self.object_key(key))
    }

    /// A presigned GetObject URL; S3 accepts expiries of up to 7 days.
    async fn download_url(&self, key: &str, expires_in: Duration) -> Result<Option<String>> {
        validate_key(key)?;
        self.presigned_get(&self.object_key(key), expires_in)
            .await
            .map(Some)
    }

    /// Presigned GETs of what the task may read, and a POST policy for its prefix, all signed with
    /// the store's own credentials. Temporary credentials (an ECS task role's) end the grant when
    /// they expire, whatever `expires_in` asks; the grant says when.
    async fn grant(&self, request: &GrantRequest) -> Result<Option<Grant>> {
        validate_key(&request.input)?;
        validate_deletion(&request.write_prefix)?;
        let now = SystemTime::now();
        let provider = self.credentials.as_ref().ok_or_else(|| {
            self.grant_error(&request.write_prefix, "no credentials are configured".to_owned())
        })?;
        let credentials = provider
            .provide_credentials()
            .await
            .map_err(|error| self.grant_error(&request.write_prefix, error_chain(&error)))?;
        let mut expires = now + request.expires_in;
        if let Some(limit) = credentials.expiry().filter(|limit| *limit < expires) {
            tracing::warn!(
                prefix = %request.write_prefix,
                wanted = %iso8601(expires),
                until = %iso8601(limit),
                "the grant ends early, when the credentials that sign it expire"
            );
            expires = limit;
        }
        let expires_in = expires.duration_since(now).unwrap_or_default();

        let mut reads = BTreeMap::new();
        for prefix in &request.read_prefixes {
            for key in self.list(prefix).await? {
                let url = self.presigned_get(&self.object_key(&key), expires_in).await?;
                reads.insert(key, url);
            }
        }
        for key in &request.read_keys {
            validate_key(key)?;
            let url = self.presigned_get(&self.object_key(key), expires_in).await?;
            reads.insert(key.clone(), url);
        }

        let object_prefix = self.object_key(&request.write_prefix);
        let region = self
            .client
            .config()
            .region()
            .map(Region::as_ref)
            .unwrap_or_default();
        let signer = Signer {
            access_key_id: credentials.access_key_id(),
            secret_access_key: credentials.secret_access_key(),
            session_token: credentials.session_token(),
            region,
        };
        let fields = post_policy_fields(signer, &self.bucket, &object_prefix, now, expires);
        // The bucket's URL as the SDK resolves it (endpoint, path or virtual-host style): a
        // presigned URL for the prefix, without the prefix and the signature.
        let probe = self.presigned_get(&object_prefix, expires_in).await?;
        let url = without_query(&probe)
            .strip_suffix(object_prefix.as_str())
            .ok_or_else(|| {
                self.grant_error(
                    &object_prefix,
                    "the bucket's URL cannot be told from the SDK's".to_owned(),
                )
            })?
            .to_owned();
        Ok(Some(Grant {
            store: self.uri(""),
            input: request.input.clone(),
            expires: iso8601(expires),
            read_prefixes: request.read_prefixes.clone(),
            reads,
            upload: Upload {
                url,
                prefix: request.write_prefix.clone(),
                object_prefix,
                fields,
            },
        }))
    }
}

impl S3Store {
    async fn presigned_get(&self, object_key: &str, expires_in: Duration) -> Result<String> {
        let presigning = PresigningConfig::expires_in(expires_in).map_err(|error| ArtifactError::S3 {
            action: "presign a download of",
            bucket: self.bucket.clone(),
            key: object_key.to_owned(),
            reason: error.to_string(),
            hint: "ask for a URL that expires within 7 days",
        })?;
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(object_key)
            .presigned(presigning)
            .await
            .map_err(|error| self.request_error("presign a download of", object_key, error))?;
        Ok(request.uri().to_owned())
    }

    fn grant_error(&self, key: &str, reason: String) -> ArtifactError {
        ArtifactError::S3 {
            action: "grant a task access to",
            bucket: self.bucket.clone(),
            key: key.to_owned(),
            reason,
            hint: "check the store's AWS credentials and region",
        }
    }
}

/// What went wrong, in one line, and what usually fixes it.
fn describe<E>(error: &SdkError<E>) -> (String, &'static str)
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
{
    match error {
        SdkError::ServiceError(service) => {
            let code = service.err().code();
            let reason = format!(
                "{} (HTTP {}): {}",
                code.unwrap_or("no error code"),
                service.raw().status().as_u16(),
                service.err().message().unwrap_or("no message")
            );
            (reason, hint_for_code(code))
        }
        SdkError::DispatchFailure(failure) if failure.is_io() || failure.is_timeout() => (
            error_chain(error),
            "check that the S3 endpoint (AWS_ENDPOINT_URL or AWS_ENDPOINT_URL_S3 when set) is reachable",
        ),
        SdkError::DispatchFailure(_) | SdkError::ConstructionFailure(_) => (
            error_chain(error),
            "check the AWS credentials (environment, profile, web identity, ECS task role or instance profile) and the region",
        ),
        SdkError::TimeoutError(_) => (
            error_chain(error),
            "S3 did not answer in time; check the endpoint and the network, then try again",
        ),
        _ => (
            error_chain(error),
            "the answer was not S3's; check that the endpoint is an S3 service",
        ),
    }
}

/// Each message in `error`'s source chain, joined by `: ` (the AWS SDK's own Display says only
/// "dispatch failure", and its Debug is a wall of structs).
pub fn error_chain(error: &(dyn StdError + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let message = cause.to_string();
        // Some layers repeat the message of the layer they wrap.
        if !text.ends_with(&message) {
            text.push_str(": ");
            text.push_str(&message);
        }
        source = cause.source();
    }
    text
}

fn hint_for_code(code: Option<&str>) -> &'static str {
    match code {
        Some("NoSuchBucket") => "create the bucket or correct the store URI",
        Some("AccessDenied" | "AllAccessDisabled" | "AccountProblem") => {
            "grant this identity s3:GetObject, s3:PutObject, s3:ListBucket, s3:DeleteObject and s3:*LifecycleConfiguration on the bucket"
        }
        Some(
            "InvalidAccessKeyId"
            | "SignatureDoesNotMatch"
            | "ExpiredToken"
            | "InvalidToken"
            | "TokenRefreshRequired",
        ) => "check the AWS credentials",
        Some("PermanentRedirect" | "AuthorizationHeaderMalformed" | "IllegalLocationConstraintException") => {
            "the bucket is in another region; set AWS_REGION to the bucket's region"
        }
        Some("SlowDown" | "ServiceUnavailable" | "InternalError" | "RequestTimeout") => {
            "S3 is busy; try again"
        }
        _ => "see the S3 error code",
    }
}

/// S3's rules for bucket names: 3 to 63 lowercase letters, digits, `.` and `-`, starting and
/// ending with a letter or digit.
pub(crate) fn validate_bucket(bucket: &str) -> std::result::Result<(), &'static str> {
    if bucket.is_empty() {
        return Err("the bucket name is empty");
    }
    if !(3..=63).contains(&bucket.len()) {
        return Err("a bucket name has 3 to 63 characters");
    }
    if !bucket
        .bytes()
        .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'.' || byte == b'-')
    {
        return Err("a bucket name has only lowercase letters, digits, '.' and '-'");
    }
    let is_alphanumeric = |c: char| c.is_ascii_alphanumeric();
    if !bucket.starts_with(is_alphanumeric) || !bucket.ends_with(is_alphanumeric) {
        return Err("a bucket name starts and ends with a letter or digit");
    }
    Ok(())
}

/// `a/b` or `a/b/` becomes `a/b/`, and `` stays ``; a prefix that could not be a key is refused.
pub(crate) fn normalize_prefix(prefix: &str) -> Result<String> {
    let trimmed = prefix.strip_suffix('/').unwrap_or(prefix);
    if trimmed.is_empty() && prefix.is_empty() {
        return Ok(String::new());
    }
    validate_key(trimmed).map_err(|_| ArtifactError::InvalidKey {
        key: prefix.to_owned(),
        reason: "a store prefix must be relative, without empty, '.' or '..' segments",
    })?;
    Ok(format!("{trimmed}/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names_follow_s3_rules() {
        for bucket in ["abc", "appgen-artifacts", "my.bucket.1", &"a".repeat(63)] {
            assert_eq!(validate_bucket(bucket), Ok(()), "{bucket}");
        }
        for bucket in [
            "",
            "ab",
            "Upper",
            "under_score",
            "-dash",
            "dash-",
            "a/b",
            &"a".repeat(64),
        ] {
            assert!(validate_bucket(bucket).is_err(), "{bucket}");
        }
    }

    #[test]
    fn prefixes_end_with_one_slash_or_are_empty() {
        assert_eq!(normalize_prefix("").unwrap(), "");
        assert_eq!(normalize_prefix("a").unwrap(), "a/");
        assert_eq!(normalize_prefix("a/b/").unwrap(), "a/b/");
        for prefix in ["/", "/a", "a//", "../a", "a/../b", "a//b", "./a"] {
            assert!(normalize_prefix(prefix).is_err(), "{prefix:?}");
        }
    }
}
