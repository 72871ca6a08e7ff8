//! The runner's errors, typed by what the caller does with them: options a
//! user must fix (exit 254), and files of the store that could not be
//! written or read (exit 3).

use std::fmt;

/// Options, a scenario, a fault plan or a system's name that cannot run:
/// the message names the option, file or step.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError(pub String);

/// A run directory, the store or a report that could not be written or
/// read: the message names the file.
#[derive(Debug, Clone, PartialEq)]
pub struct StoreError(pub String);

macro_rules! text_error {
    ($t:ident) => {
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl std::error::Error for $t {}
        impl From<String> for $t {
            fn from(s: String) -> $t {
                $t(s)
            }
        }
        impl From<&str> for $t {
            fn from(s: &str) -> $t {
                $t(s.to_string())
            }
        }
        impl From<$t> for String {
            fn from(e: $t) -> String {
                e.0
            }
        }
    };
}

text_error!(ConfigError);
text_error!(StoreError);
