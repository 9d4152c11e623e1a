//! Secrets: the config never holds one, only a reference (`{ env = "NAME" }` or
//! `{ file = "/path" }`), resolved at load time through a [`SecretSource`] so a missing
//! secret is reported with the other problems and tests can inject their own. A resolved
//! [`Secret`] never prints its value, so it cannot leak through `{:?}` or a log line.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use toml::Value;

use super::reader::{Parse, mismatch};

const FORMS: &str = r#"{ env = "NAME" } or { file = "/path" }"#;

/// A resolved secret. `Debug` and `Display` print `Secret(***)`; only
/// [`expose`](Secret::expose) gives the value, so every use of it is greppable.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value (tests, or callers with their own source).
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret value. Do not log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Where the values the config refers to come from: environment variables and files
/// (secrets, and `/etc/group` for a `control.group` given by name).
pub trait SecretSource {
    /// The value of an environment variable, `None` when unset.
    fn env(&self, name: &str) -> Option<String>;
    /// The contents of a file.
    fn read_file(&self, path: &Path) -> io::Result<String>;
}

/// The real environment and filesystem.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemSecrets;

impl SecretSource for SystemSecrets {
    fn env(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }

    fn read_file(&self, path: &Path) -> io::Result<String> {
        std::fs::read_to_string(path)
    }
}

/// Where a secret is read from.
enum SecretRef {
    Env(String),
    File(PathBuf),
}

/// Parses a secret reference and resolves it through `source`. Messages name the variable
/// or the file, never a value.
pub(super) fn secret(value: Value, source: &dyn SecretSource) -> Parse<Secret> {
    match reference(value)? {
        SecretRef::Env(name) => match source.env(&name) {
            None => Err(format!(
                "environment variable `{name}` is not set: give it to the agent (e.g. with \
                 EnvironmentFile= in its systemd unit)"
            )),
            Some(value) if value.is_empty() => Err(format!(
                "environment variable `{name}` is empty: set it to the secret"
            )),
            Some(value) => Ok(Secret(value)),
        },
        SecretRef::File(path) => match source.read_file(&path) {
            Err(error) => Err(format!(
                "cannot read the secret file `{}`: {error}: check that it exists and that the \
                 agent's user may read it",
                path.display()
            )),
            Ok(contents) => {
                let value = contents.strip_suffix('\n').unwrap_or(&contents);
                let value = value.strip_suffix('\r').unwrap_or(value);
                if value.is_empty() {
                    Err(format!(
                        "the secret file `{}` is empty: write the secret into it",
                        path.display()
                    ))
                } else {
                    Ok(Secret(value.to_owned()))
                }
            }
        },
    }
}

fn reference(value: Value) -> Parse<SecretRef> {
    let mut table = match value {
        Value::Table(table) => table,
        Value::String(_) => {
            return Err(format!(
                "secrets must not be written in the config: use {FORMS}"
            ));
        }
        other => return Err(mismatch(&format!("a secret reference, {FORMS}"), &other)),
    };
    let env = table.remove("env");
    let file = table.remove("file");
    if let Some(extra) = table.keys().next() {
        return Err(format!(
            "unexpected key `{extra}` in a secret reference: write {FORMS}"
        ));
    }
    match (env, file) {
        (Some(Value::String(name)), None) if !name.is_empty() => Ok(SecretRef::Env(name)),
        (None, Some(Value::String(path))) if !path.is_empty() => {
            Ok(SecretRef::File(PathBuf::from(path)))
        }
        (Some(_), Some(_)) => Err(format!(
            "a secret reference takes `env` or `file`, not both: write {FORMS}"
        )),
        (None, None) => Err(format!("empty secret reference: write {FORMS}")),
        _ => Err(format!(
            "`env` and `file` take a non-empty string: write {FORMS}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed;

    impl SecretSource for Fixed {
        fn env(&self, name: &str) -> Option<String> {
            (name == "TOKEN").then(|| "from-env".to_owned())
        }

        fn read_file(&self, path: &Path) -> io::Result<String> {
            match path.to_str() {
                Some("/token") => Ok("from-file\r\n".to_owned()),
                Some("/empty") => Ok("\n".to_owned()),
                _ => Err(io::Error::from(io::ErrorKind::NotFound)),
            }
        }
    }

    fn inline(text: &str) -> Value {
        text.parse::<toml::Table>()
            .expect("test TOML")
            .remove("s")
            .expect("key s")
    }

    #[test]
    fn references_resolve_and_files_lose_their_newline() {
        let resolved = secret(inline(r#"s = { env = "TOKEN" }"#), &Fixed).expect("env");
        assert_eq!(resolved.expose(), "from-env");
        let resolved = secret(inline(r#"s = { file = "/token" }"#), &Fixed).expect("file");
        assert_eq!(resolved.expose(), "from-file");
    }

    #[test]
    fn bad_references_name_the_variable_or_file() {
        let cases = [
            (
                r#"s = { env = "MISSING" }"#,
                "environment variable `MISSING` is not set",
            ),
            (
                r#"s = { file = "/nope" }"#,
                "cannot read the secret file `/nope`",
            ),
            (
                r#"s = { file = "/empty" }"#,
                "the secret file `/empty` is empty",
            ),
            (r#"s = { env = "A", file = "/b" }"#, "not both"),
            (r#"s = { value = "x" }"#, "unexpected key `value`"),
            (r#"s = {}"#, "empty secret reference"),
            ("s = 42", "expected a secret reference"),
        ];
        for (text, expected) in cases {
            let message = secret(inline(text), &Fixed).expect_err(text);
            assert!(message.contains(expected), "{text}: {message}");
        }
    }

    #[test]
    fn secrets_never_print() {
        let secret = Secret::new("hunter2");
        assert_eq!(format!("{secret:?} {secret}"), "Secret(***) Secret(***)");
    }
}
