//! The real Admin GraphQL schemas, parsed once per process and shared.
//!
//! Each SDL file is 3.7 MB; parsing and validating one takes a noticeable time in a debug
//! build, so each version is parsed lazily, at most once, behind a `OnceLock`. The SDL is
//! compiled into the binary so the sandbox runs without the repository beside it.

use std::sync::OnceLock;

use apollo_compiler::Schema;
use apollo_compiler::validation::Valid;

/// An Admin API version the sandbox serves, each with its own schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ApiVersion {
    /// `2026-07`, the default.
    V2026_07,
    /// `2026-10`, the release candidate in the schema package.
    V2026_10,
}

impl ApiVersion {
    /// Every version served.
    pub const ALL: [ApiVersion; 2] = [ApiVersion::V2026_07, ApiVersion::V2026_10];

    /// The version from its path segment, e.g. `2026-07`.
    pub fn parse(text: &str) -> Option<ApiVersion> {
        match text {
            "2026-07" => Some(ApiVersion::V2026_07),
            "2026-10" => Some(ApiVersion::V2026_10),
            _ => None,
        }
    }

    /// The path segment, e.g. `2026-07`.
    pub fn as_str(self) -> &'static str {
        match self {
            ApiVersion::V2026_07 => "2026-07",
            ApiVersion::V2026_10 => "2026-10",
        }
    }

    fn sdl(self) -> &'static str {
        match self {
            ApiVersion::V2026_07 => {
                include_str!("../../fixtures/shopify/admin-2026-07.graphql")
            }
            ApiVersion::V2026_10 => {
                include_str!("../../fixtures/shopify/admin-2026-10.graphql")
            }
        }
    }
}

/// Why a schema could not be loaded. The fixtures are Shopify's own, so this means a
/// corrupted fixture, not a user error.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the Admin API {version} schema does not parse: {reason}")]
pub struct SchemaError {
    version: &'static str,
    reason: String,
}

/// The declaration Shopify's printed SDL leaves out.
const ONE_OF: &str = "directive @oneOf on INPUT_OBJECT";

static V2026_07: OnceLock<Result<Valid<Schema>, SchemaError>> = OnceLock::new();
static V2026_10: OnceLock<Result<Valid<Schema>, SchemaError>> = OnceLock::new();

/// The schema of `version`, parsed on first use.
pub fn schema(version: ApiVersion) -> Result<&'static Valid<Schema>, SchemaError> {
    let cell = match version {
        ApiVersion::V2026_07 => &V2026_07,
        ApiVersion::V2026_10 => &V2026_10,
    };
    cell.get_or_init(|| {
        let started = std::time::Instant::now();
        // Shopify's SDL uses `@oneOf` without declaring it; apollo-compiler 1.x does not
        // know it as a built-in, so it is declared beside the schema.
        let parsed = Schema::builder()
            .parse(ONE_OF, "one_of.graphql")
            .parse(version.sdl(), "admin.graphql")
            .build()
            .map_err(|error| error.errors.to_string())
            .and_then(|schema| schema.validate().map_err(|error| error.errors.to_string()))
            .map_err(|reason| SchemaError {
                version: version.as_str(),
                reason,
            });
        tracing::info!(
            version = version.as_str(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "parsed Admin API schema"
        );
        parsed
    })
    .as_ref()
    .map_err(Clone::clone)
}
