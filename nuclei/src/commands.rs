//! The node commands of each fault, rendered as data (argument vectors),
//! so they are unit-tested without a node.
//!
//! faultline's iptables rules live in chains of its own, jumped to from
//! INPUT: healing flushes ours and touches nothing else on the node.

use control::{quote, Cmd};

/// The chain partitions go in.
pub const PARTITION_CHAIN: &str = "faultline-part";
/// The chain packet loss goes in.
pub const LOSS_CHAIN: &str = "faultline-loss";
/// Both chains.
pub const CHAINS: [&str; 2] = [PARTITION_CHAIN, LOSS_CHAIN];

fn ipt(args: &[&str]) -> Cmd {
    let mut v = vec!["iptables", "-w"];
    v.extend_from_slice(args);
    Cmd::new(v).sudo()
}

/// Creates the chains and their jumps from INPUT, if missing (idempotent).
pub fn setup() -> Cmd {
    let mut c = Cmd::script("true");
    for chain in CHAINS {
        c = c
            .and(Cmd::script(&format!("{{ {} 2>/dev/null || {}; }}", ipt(&["-n", "-L", chain]).text(), ipt(&["-N", chain]).text())))
            .and(Cmd::script(&format!("{{ {} 2>/dev/null || {}; }}", ipt(&["-C", "INPUT", "-j", chain]).text(), ipt(&["-I", "INPUT", "-j", chain]).text())));
    }
    c.sudo()
}

/// Removes the jumps and the chains (idempotent): no faultline rule left.
pub fn teardown() -> Cmd {
    let mut parts = Vec::new();
    for chain in CHAINS {
        parts.push(format!("while {} 2>/dev/null; do :; done", ipt(&["-D", "INPUT", "-j", chain]).text()));
        parts.push(format!("{{ {} 2>/dev/null; {} 2>/dev/null; true; }}", ipt(&["-F", chain]).text(), ipt(&["-X", chain]).text()));
    }
    Cmd::script(&parts.join("; ")).sudo()
}

/// Drops packets from each of `sources`, to every port or only `ports`
/// (TCP), always or with `probability`.
pub fn drop_from(chain: &str, sources: &[String], ports: &[u16], probability: Option<f64>) -> Cmd {
    let mut c = Cmd::script("true");
    for src in sources {
        let rule = |port: Option<String>| {
            let mut v: Vec<String> = ["iptables", "-w", "-A", chain, "-s", src].iter().map(|s| s.to_string()).collect();
            if let Some(p) = port {
                v.extend(["-p", "tcp", "--dport", &p].map(String::from));
            }
            if let Some(pr) = probability {
                v.extend(["-m", "statistic", "--mode", "random", "--probability"].map(String::from));
                v.push(format!("{pr}"));
            }
            v.extend(["-j", "DROP"].map(String::from));
            Cmd::new(v)
        };
        if ports.is_empty() {
            c = c.and(rule(None));
        } else {
            for p in ports {
                c = c.and(rule(Some(p.to_string())));
            }
        }
    }
    c.sudo()
}

/// Empties one chain (heals its fault).
pub fn flush(chain: &str) -> Cmd {
    Cmd::script(&format!("{} 2>/dev/null || true", ipt(&["-F", chain]).text())).sudo()
}

/// Counts the fault rules in faultline's chains (0 when healed).
pub fn count_rules() -> Cmd {
    Cmd::script("iptables-save 2>/dev/null | grep -c -- '^-A faultline-' || true").sudo()
}

/// Counts every trace of faultline in iptables: chains, jumps, rules (0
/// after teardown).
pub fn count_traces() -> Cmd {
    Cmd::script("iptables-save 2>/dev/null | grep -ci faultline || true").sudo()
}

/// Shell that sets `$dev` to the interface by which the node reaches
/// `peer` (its route: `eth0` in a container, another on a VM's private
/// network), failing with the peer named when there is none.
fn dev_towards(peer: &str) -> String {
    let p = quote(peer);
    format!("dev=$(ip -o route get {p} | sed -n 's/.* dev \\([^ ]*\\).*/\\1/p'); [ -n \"$dev\" ] || {{ echo \"no route to \"{p} >&2; exit 1; }}")
}

/// netem on the interface towards the other nodes: delay, jitter, loss and
/// reordering for packets to each of `targets` (a prio qdisc with one netem
/// band, handle 30:, and u32 filters by destination).
pub fn netem_on(targets: &[String], delay_ms: u32, jitter_ms: u32, loss_pct: f64, reorder_pct: f64) -> Cmd {
    let Some(first) = targets.first() else { return Cmd::script("true") };
    let (d, j, l, r) = (format!("{delay_ms}ms"), format!("{jitter_ms}ms"), format!("{loss_pct}%"), format!("{reorder_pct}%"));
    let mut text = format!(
        "{}; tc qdisc add dev \"$dev\" root handle 1: prio && tc qdisc add dev \"$dev\" parent 1:3 handle 30: netem delay {d} {j} loss {l} reorder {r}",
        dev_towards(first)
    );
    for t in targets {
        text += &format!(" && tc filter add dev \"$dev\" protocol ip parent 1:0 prio 3 u32 match ip dst {} flowid 1:3", quote(t));
    }
    Cmd::script(&text).sudo()
}

/// Removes faultline's netem (its handle 30:) from every interface that
/// has it; touches no other qdisc; succeeds when there is none.
pub fn netem_off() -> Cmd {
    Cmd::script(
        "for d in $(ls /sys/class/net); do if tc qdisc show dev \"$d\" 2>/dev/null | grep -q 'netem 30:'; then tc qdisc del dev \"$d\" root; fi; done; true",
    )
    .sudo()
}

/// True (exit 0) when the node's kernel has netem.
pub fn netem_probe() -> Cmd {
    Cmd::script("tc qdisc add dev lo root netem delay 1ms 2>/dev/null && tc qdisc del dev lo root").sudo()
}

/// Where a node lists the processes faultline stopped: one `pid start-time`
/// a line (in /run: gone at reboot, with the processes).
pub const PAUSED_FILE: &str = "/run/faultline/paused";

/// SIGSTOP to the processes matching `pattern`, each recorded with its
/// start time in [`PAUSED_FILE`] so that exactly these are resumed.
pub fn pause(pattern: &str) -> Cmd {
    Cmd::script(&format!(
        "mkdir -p /run/faultline && for p in $(pgrep -f {}); do kill -STOP \"$p\" && echo \"$p\" $(ps -o lstart= -p \"$p\") >> {PAUSED_FILE}; done",
        quote(pattern)
    ))
    .sudo()
}

/// SIGCONT to exactly the processes faultline stopped on the node (those
/// in [`PAUSED_FILE`] still running with the recorded start time: a pid
/// reused by another process is left alone), then forgets them. Other
/// stopped processes on the node are never touched.
pub fn resume_paused() -> Cmd {
    Cmd::script(&format!(
        "if [ -f {PAUSED_FILE} ]; then while read -r p st; do \
         [ \"$(echo $(ps -o lstart= -p \"$p\"))\" = \"$st\" ] && kill -CONT \"$p\"; done < {PAUSED_FILE}; rm -f {PAUSED_FILE}; fi; true"
    ))
    .sudo()
}

/// Counts stopped processes.
pub fn count_stopped() -> Cmd {
    Cmd::script("ps -eo stat= | grep -c '^T' || true")
}

/// Stops time synchronisation and shifts the clock by `delta_ms`.
pub fn bump_clock(delta_ms: i64) -> Cmd {
    let shift = format!(
        "systemctl stop chrony 2>/dev/null || systemctl stop systemd-timesyncd 2>/dev/null || true; \
         ns=$(date +%s%N); t=$((ns + {})); date -s \"@$((t / 1000000000)).$(printf %09d $((t % 1000000000)))\" >/dev/null",
        delta_ms * 1_000_000
    );
    Cmd::script(&shift).sudo()
}

/// The tag on a strobe loop's command line (see `Fault::StrobeClock`).
pub const STROBE_TAG: &str = "faultline-strobe";

/// Stops any strobe loop (the pattern's brackets keep it from matching the
/// shell that runs it).
pub fn stop_strobe() -> Cmd {
    Cmd::script("pkill -f 'faultline[-]strobe' || true").sudo()
}

/// Brings the clock back to the control node's by shifting it by
/// `correction_ms` (minus the offset just measured: a relative shift is
/// not delayed by the command's own transit, as setting an absolute time
/// sent from the control node would be), then restarts time
/// synchronisation.
pub fn reset_clock(correction_ms: i64) -> Cmd {
    let s = format!(
        "ns=$(date +%s%N); t=$((ns + {})); date -s \"@$((t / 1000000000)).$(printf %09d $((t % 1000000000)))\" >/dev/null && \
         {{ systemctl start chrony 2>/dev/null || systemctl start systemd-timesyncd 2>/dev/null || true; }}",
        correction_ms as i128 * 1_000_000
    );
    Cmd::script(&s).sudo()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(c: &Cmd) -> String {
        c.rendered("root")
    }

    #[test]
    fn partitions_render_to_drop_rules_in_our_chain() {
        let c = drop_from(PARTITION_CHAIN, &["10.0.0.2".into(), "10.0.0.3".into()], &[], None);
        assert_eq!(sh(&c), "true && iptables -w -A faultline-part -s 10.0.0.2 -j DROP && iptables -w -A faultline-part -s 10.0.0.3 -j DROP");
        let c = drop_from(PARTITION_CHAIN, &["10.0.0.2".into()], &[8080, 9070], None);
        assert!(sh(&c).contains("-s 10.0.0.2 -p tcp --dport 8080 -j DROP && iptables -w -A faultline-part -s 10.0.0.2 -p tcp --dport 9070 -j DROP"));
        let c = drop_from(LOSS_CHAIN, &["10.0.0.2".into()], &[], Some(0.3));
        assert!(sh(&c).ends_with("-A faultline-loss -s 10.0.0.2 -m statistic --mode random --probability 0.3 -j DROP"));
    }

    #[test]
    fn healing_touches_only_our_chains() {
        for c in [flush(PARTITION_CHAIN), teardown(), setup()] {
            let text = sh(&c);
            for word in text.split_whitespace().filter(|w| w.starts_with("faultline") || *w == "-F" || *w == "-X") {
                assert!(!word.is_empty());
            }
            // never a bare flush of a built-in chain or of everything
            assert!(!text.contains("-F INPUT") && !text.contains("-F 2") && !text.contains("-F;") && !text.contains("-F &&"), "{text}");
        }
        assert!(sh(&teardown()).contains("-D INPUT -j faultline-part"));
    }

    #[test]
    fn a_hostile_address_stays_one_argument() {
        let c = drop_from(PARTITION_CHAIN, &["1.2.3.4; reboot".into()], &[], None);
        assert!(sh(&c).contains("-s '1.2.3.4; reboot' -j DROP"));
    }

    #[test]
    fn netem_and_clock_render() {
        let c = netem_on(&["10.0.0.2".into(), "10.0.0.3".into()], 100, 10, 5.0, 1.0);
        let t = sh(&c);
        assert!(t.contains("netem delay 100ms 10ms loss 5% reorder 1%"), "{t}");
        assert!(t.contains("match ip dst 10.0.0.2 flowid 1:3") && t.contains("match ip dst 10.0.0.3 flowid 1:3"), "{t}");
        assert!(!t.contains("eth0") && t.contains("ip -o route get 10.0.0.2"), "the interface is the route's: {t}");
        assert!(!sh(&netem_off()).contains("eth0"));
        // the script as the node's shell runs it (tc only echoed): the device is the route's
        let dry = format!("{} && {}", netem_off().text(), netem_on(&["127.0.0.1".into()], 100, 10, 5.0, 1.0).text()).replace("tc ", "echo tc ");
        let out = std::process::Command::new("sh").arg("-c").arg(&dry).output().unwrap();
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success() && said.contains("tc qdisc add dev lo root handle 1: prio") && said.contains("tc filter add dev lo "), "{dry}: {said}");
        assert!(sh(&bump_clock(-1500)).contains("t=$((ns + -1500000000))"));
        // the stop pattern matches the loop's tag, not its own text
        let stop = sh(&stop_strobe());
        let pattern = stop.split('\'').nth(1).unwrap().replace("[-]", "-");
        assert_eq!(pattern, STROBE_TAG);
        assert!(!stop.contains(STROBE_TAG));
        let r = sh(&reset_clock(-60_250));
        assert!(r.contains("t=$((ns + -60250000000))") && r.contains("systemctl start chrony"), "{r}");
    }

    #[test]
    fn the_interface_is_the_one_routing_to_the_peer_in_a_real_shell() {
        // on this machine, as on a node: the route to the loopback is `lo`
        let script = format!("{}; echo \"$dev\"", dev_towards("127.0.0.1"));
        let out = std::process::Command::new("sh").arg("-c").arg(&script).output().unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "lo", "{script}: {}", String::from_utf8_lossy(&out.stderr));
        let script = format!("{}; echo reached", dev_towards("not-an-address"));
        let out = std::process::Command::new("sh").arg("-c").arg(&script).output().unwrap();
        assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("no route to not-an-address"), "{script}");
    }

    #[test]
    fn clock_shift_arithmetic_is_right_in_a_real_shell() {
        // run the arithmetic part with a fixed "now"
        let script = sh(&bump_clock(2500)).replace("ns=$(date +%s%N)", "ns=1000000000999999999").replace("date -s", "echo");
        let script = script.split("; ").skip(1).collect::<Vec<_>>().join("; ").replace(">/dev/null", "");
        let out = std::process::Command::new("sh").arg("-c").arg(&script).output().unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "@1000000003.499999999", "{script}");
    }
}
