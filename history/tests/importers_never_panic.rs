//! Property: no input, however mangled, makes an importer or the pairing
//! rules panic; they answer with a history or an error.

use history::{pair, parse, Format};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const SEEDS: &[&str] = &[
    "{\"index\":0,\"time\":5,\"process\":0,\"type\":\"invoke\",\"f\":\"cas\",\"value\":[1,2]}\n{\"index\":1,\"time\":9,\"process\":0,\"type\":\"ok\",\"f\":\"cas\",\"value\":[1,2],\"node\":\"n1\"}\n",
    "{\"faultline_history\":1,\"start_unix_ns\":7}\n{\"process\":\"nemesis\",\"type\":\"info\",\"f\":\"start-partition\",\"value\":{\"n1\":[\"n2\"]}}\n",
    "{:type :invoke, :f :cas, :value [1 2], :process 3, :time 123, :index 4}\n{:type :info, :f :cas, :value [1 2], :process 3, :error :timeout}\n[{:process :nemesis :type :info :f :start :value #{\"n1\"}}]",
    "INFO  jepsen.util - 4\t:invoke\t:read\tnil\nINFO  jepsen.util - 4\t:ok\t:read\t3\nINFO  jepsen.util - 1\t:info\t:write\t:timed-out\n",
    "{:process 0, :type :invoke, :f :append, :key \"4\", :value \"x 0 1 y\"}\n{:process 0, :type :ok, :f :append, :key \"4\", :value \"x 0 1 y\"}\n",
];

const ALPHABET: &[u8] = b"{}[]()#:\"\\\t\n ,;_-0123456789nilpr:invokeokfailinfo\xff";

fn mutate(rng: &mut Rng, seed: &str) -> String {
    let mut b = seed.as_bytes().to_vec();
    for _ in 0..1 + rng.below(8) {
        let at = rng.below(b.len() + 1);
        match rng.below(4) {
            0 if at < b.len() => b[at] = ALPHABET[rng.below(ALPHABET.len())],
            1 if at < b.len() => {
                b.remove(at);
            }
            2 => b.insert(at, ALPHABET[rng.below(ALPHABET.len())]),
            _ => {
                let from = rng.below(b.len());
                let len = rng.below(16).min(b.len() - from);
                let piece: Vec<u8> = b[from..from + len].to_vec();
                b.splice(at..at, piece);
            }
        }
    }
    String::from_utf8_lossy(&b).into_owned()
}

fn all_formats(text: &str) {
    for f in [Format::Jsonl, Format::Edn, Format::JepsenLog, Format::PorcupineKv] {
        if let Ok(h) = parse(text, f) {
            let _ = pair(&h);
        }
    }
    let _ = history::detect(std::path::Path::new("x"), text);
}

#[test]
fn mutated_histories_never_panic() {
    let mut rng = Rng(42);
    for i in 0..30_000 {
        let text = mutate(&mut rng, SEEDS[i % SEEDS.len()]);
        all_formats(&text);
    }
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(7);
    for _ in 0..5_000 {
        let len = rng.below(200);
        let bytes: Vec<u8> = (0..len).map(|_| ALPHABET[rng.below(ALPHABET.len())]).collect();
        all_formats(&String::from_utf8_lossy(&bytes));
        let raw: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        all_formats(&String::from_utf8_lossy(&raw));
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let deep = "[".repeat(100_000);
    assert!(parse(&deep, Format::Edn).is_err());
    assert!(parse(&deep, Format::Jsonl).is_err());
    let log = format!("INFO  jepsen.util - 1\t:invoke\t:write\t{deep}");
    assert!(parse(&log, Format::JepsenLog).is_err());
}
