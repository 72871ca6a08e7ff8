//! Commands built from argument vectors, quoted for a POSIX shell, so that a
//! value can never become a command.

use std::fmt;
use std::time::Duration;

/// Quotes one word for `sh`: left as is when it is made only of safe
/// characters, else single-quoted.
pub fn quote(word: &str) -> String {
    let safe = !word.is_empty() && word.bytes().all(|b| b.is_ascii_alphanumeric() || b"_@%+=:,./-".contains(&b));
    if safe {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// A command to run on a node.
///
/// Built from an argument vector (`Cmd::new(["iptables", "-A", chain])`),
/// every argument quoted; commands combine with [`Cmd::and`] and
/// [`Cmd::pipe`]. Only [`Cmd::script`] takes shell text as is: give it
/// constants, never values.
#[derive(Clone, PartialEq, Eq)]
pub struct Cmd {
    text: String,
    pub(crate) sudo: bool,
    pub(crate) timeout: Duration,
    pub(crate) stdin: Option<Vec<u8>>,
}

/// The timeout of a command that sets none.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

impl Cmd {
    /// A command from its argument vector.
    pub fn new<I, S>(argv: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let words: Vec<String> = argv.into_iter().map(|a| quote(a.as_ref())).collect();
        Cmd::script(&words.join(" "))
    }

    /// Shell text taken as is. For constant scripts only.
    pub fn script(text: &str) -> Cmd {
        Cmd { text: text.to_string(), sudo: false, timeout: DEFAULT_TIMEOUT, stdin: None }
    }

    /// Appends one more quoted argument.
    pub fn arg(mut self, a: impl AsRef<str>) -> Cmd {
        self.text.push(' ');
        self.text.push_str(&quote(a.as_ref()));
        self
    }

    /// `self && next`.
    pub fn and(mut self, next: Cmd) -> Cmd {
        self.text = format!("{} && {}", self.text, next.text);
        self
    }

    /// `self | next`.
    pub fn pipe(mut self, next: Cmd) -> Cmd {
        self.text = format!("{} | {}", self.text, next.text);
        self
    }

    /// Runs as root through `sudo -n` when the SSH user is not root.
    pub fn sudo(mut self) -> Cmd {
        self.sudo = true;
        self
    }

    /// Fails with a timeout error if the command runs longer.
    pub fn timeout(mut self, d: Duration) -> Cmd {
        self.timeout = d;
        self
    }

    /// Bytes to feed the command's standard input.
    pub fn stdin(mut self, data: impl Into<Vec<u8>>) -> Cmd {
        self.stdin = Some(data.into());
        self
    }

    /// The shell text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The shell text as sent for `user`: wrapped in `sudo -n sh -c` when
    /// root is needed and the user is not root.
    pub fn rendered(&self, user: &str) -> String {
        if self.sudo && user != "root" {
            format!("sudo -n sh -c {}", quote(&self.text))
        } else {
            self.text.clone()
        }
    }
}

impl fmt::Debug for Cmd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Display for Cmd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_words_stay_bare_and_others_are_quoted() {
        assert_eq!(quote("iptables"), "iptables");
        assert_eq!(quote("10.0.3.11/24"), "10.0.3.11/24");
        assert_eq!(quote(""), "''");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), "'it'\\''s'");
        assert_eq!(quote("$(reboot)"), "'$(reboot)'");
        assert_eq!(quote("; rm -rf /"), "'; rm -rf /'");
    }

    #[test]
    fn a_value_cannot_inject_a_command() {
        // run the rendered text through a real shell: the value comes back whole
        for evil in ["$(echo pwned)", "`echo pwned`", "x; echo pwned", "a'b\"c", "\n echo pwned", "*", "~root"] {
            let c = Cmd::new(["printf", "%s", evil]);
            let out = std::process::Command::new("sh").arg("-c").arg(c.text()).output().unwrap();
            assert_eq!(String::from_utf8_lossy(&out.stdout), evil, "{}", c.text());
        }
    }

    #[test]
    fn sudo_wraps_only_for_other_users() {
        let c = Cmd::new(["iptables", "-N", "faultline"]).and(Cmd::new(["echo", "a b"])).sudo();
        assert_eq!(c.rendered("root"), "iptables -N faultline && echo 'a b'");
        assert_eq!(c.rendered("vagrant"), "sudo -n sh -c 'iptables -N faultline && echo '\\''a b'\\'''");
        let out = std::process::Command::new("sh").arg("-c").arg(c.rendered("x").replace("sudo -n ", "")).output();
        assert!(out.is_ok());
    }
}
