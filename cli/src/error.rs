//! The one error type of the command line, and the exit code each kind maps to (DESIGN §7).

use std::process::ExitCode;

/// Exit code: everything verified, or the command did what it was asked.
pub const EXIT_OK: u8 = 0;
/// Exit code: something was checked and did not verify.
pub const EXIT_FAILED: u8 = 1;
/// Exit code: bad input or usage (arguments, unreadable or malformed files, refused records).
pub const EXIT_USAGE: u8 = 2;
/// Exit code: a node could not be reached (connection refused, timeout, DNS).
pub const EXIT_UNREACHABLE: u8 = 3;

/// Why a command did not succeed. Each variant says which exit code it gives.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CliError {
    /// A check failed: the data does not prove what it claims (exit 1).
    #[error("{0}")]
    Verification(String),
    /// The user's input is unusable: a missing or malformed file, a bad argument (exit 2).
    #[error("{0}")]
    Input(String),
    /// A node answered with an error the user has to act on, e.g. a refused record (exit 2).
    #[error("node {url} answered {status}: {detail}")]
    Refused {
        /// The URL requested.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The node's `error` and `detail`, or its body.
        detail: String,
    },
    /// A node could not be reached at all (exit 3).
    #[error("cannot reach {url}: {reason}")]
    Unreachable {
        /// The URL requested.
        url: String,
        /// What went wrong (connection refused, timeout, unknown host).
        reason: String,
    },
}

impl CliError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Verification(_) => EXIT_FAILED,
            CliError::Input(_) | CliError::Refused { .. } => EXIT_USAGE,
            CliError::Unreachable { .. } => EXIT_UNREACHABLE,
        }
    }

    /// A short machine-readable name of the kind, for `--json` output.
    pub fn kind(&self) -> &'static str {
        match self {
            CliError::Verification(_) => "verification_failed",
            CliError::Input(_) => "bad_input",
            CliError::Refused { .. } => "refused",
            CliError::Unreachable { .. } => "unreachable",
        }
    }

    /// The exit code as a process [`ExitCode`].
    pub fn to_exit_code(&self) -> ExitCode {
        ExitCode::from(self.exit_code())
    }
}

/// Shorthand for a verification failure.
pub fn failed(message: impl Into<String>) -> CliError {
    CliError::Verification(message.into())
}

/// Shorthand for bad input.
pub fn input(message: impl Into<String>) -> CliError {
    CliError::Input(message.into())
}

/// Reads a file the user named, as bytes; a missing or unreadable file is bad input.
pub fn read_file(path: &std::path::Path) -> Result<Vec<u8>, CliError> {
    std::fs::read(path).map_err(|e| input(format!("cannot read {}: {e}", path.display())))
}

/// Reads a file the user named, as UTF-8 text.
pub fn read_text(path: &std::path::Path) -> Result<String, CliError> {
    String::from_utf8(read_file(path)?)
        .map_err(|_| input(format!("{} is not UTF-8 text", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_design() {
        assert_eq!(failed("x").exit_code(), 1);
        assert_eq!(input("x").exit_code(), 2);
        let refused = CliError::Refused {
            url: "u".into(),
            status: 422,
            detail: "d".into(),
        };
        assert_eq!(refused.exit_code(), 2);
        let unreachable = CliError::Unreachable {
            url: "u".into(),
            reason: "r".into(),
        };
        assert_eq!(unreachable.exit_code(), 3);
        assert_eq!(unreachable.kind(), "unreachable");
    }

    #[test]
    fn a_missing_file_is_bad_input() {
        let e = read_file(std::path::Path::new("/nonexistent/daylight/file")).unwrap_err();
        assert_eq!(e.exit_code(), EXIT_USAGE);
        assert!(e.to_string().contains("/nonexistent/daylight/file"));
    }
}
