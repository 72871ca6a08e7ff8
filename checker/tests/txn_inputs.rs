//! Transactional histories from files: whatever the bytes, the importers
//! and both transactional checkers answer with a verdict or an error, never
//! a panic; a malformed transaction names its file and line.

use checker::txn::{check_list_append, check_rw_register, Consistency};
use history::{parse, Format, Rng};

/// Below `n`, as an index.
fn below(rng: &mut Rng, n: usize) -> usize {
    rng.below(n.max(1) as u64) as usize
}

const SEEDS: &[&str] = &[
    "{:type :invoke, :f :txn, :value [[:append 3 1] [:r 4 nil]], :process 0, :index 0}\n{:type :ok, :f :txn, :value [[:append 3 1] [:r 4 [1 2]]], :process 0, :index 1}\n{:type :invoke, :f :txn, :value [[:r 3 nil]], :process 1, :index 2}\n{:type :info, :f :txn, :value [[:r 3 nil]], :process 1, :index 3}\n",
    "{:type :invoke, :f :txn, :value [[:r :x nil] [:w :y 1]], :process 0, :index 0}\n{:type :invoke, :f :txn, :value [[:r :y nil] [:w :x 1]], :process 1, :index 1}\n{:type :ok, :f :txn, :value [[:r :x nil] [:w :y 1]], :process 0, :index 2}\n{:type :fail, :f :txn, :value [[:r :y 2] [:w :x 1]], :process 1, :index 3}\n",
    "{\"index\":0,\"process\":0,\"type\":\"invoke\",\"f\":\"txn\",\"value\":[[\"append\",1,1],[\"r\",1,null]]}\n{\"index\":1,\"process\":0,\"type\":\"ok\",\"f\":\"txn\",\"value\":[[\"append\",1,1],[\"r\",1,[1]]]}\n",
];

const ALPHABET: &[u8] = b"{}[]()#:\"\\\t\n ,;_-0123456789nilrwappendtxnokfailinfo\xff";

fn mutate(rng: &mut Rng, seed: &str) -> String {
    let mut b = seed.as_bytes().to_vec();
    for _ in 0..1 + below(rng, 6) {
        let at = below(rng, b.len() + 1);
        match below(rng, 4) {
            0 if at < b.len() => b[at] = ALPHABET[below(rng, ALPHABET.len())],
            1 if at < b.len() => {
                b.remove(at);
            }
            2 => b.insert(at, ALPHABET[below(rng, ALPHABET.len())]),
            _ => {
                let from = below(rng, b.len());
                let len = below(rng, 24).min(b.len() - from);
                let piece: Vec<u8> = b[from..from + len].to_vec();
                b.splice(at..at, piece);
            }
        }
    }
    String::from_utf8_lossy(&b).into_owned()
}

#[test]
fn mutated_transactional_histories_never_panic_either_checker() {
    let mut rng = Rng::new(11);
    let (mut verdicts, mut errors) = (0, 0);
    for i in 0..20_000 {
        let text = mutate(&mut rng, SEEDS[i % SEEDS.len()]);
        for f in [Format::Edn, Format::Jsonl] {
            let Ok(h) = parse(&text, f) else { continue };
            for c in [Consistency::ReadCommitted, Consistency::StrictSerializable] {
                for r in [check_list_append(&h, c), check_rw_register(&h, c)] {
                    match r {
                        Ok(_) => verdicts += 1,
                        Err(_) => errors += 1,
                    }
                }
            }
        }
    }
    // the mutations reach both outcomes: the property is not vacuous
    assert!(verdicts > 1_000 && errors > 1_000, "verdicts {verdicts}, errors {errors}");
}

#[test]
fn a_malformed_transaction_names_its_file_and_line() {
    let text = "{:type :invoke, :f :txn, :value [[:append 3 1]], :process 0}\n{:type :ok, :f :txn, :value [[:append 3 1]], :process 0}\n\
                {:type :invoke, :f :txn, :value [[:bogus 3]], :process 1}\n{:type :ok, :f :txn, :value [[:bogus 3]], :process 1}\n";
    let h = parse(text, Format::Edn).unwrap();
    let e = check_list_append(&h, Consistency::Serializable).unwrap_err().in_file(std::path::Path::new("t.edn")).to_string();
    assert!(e.contains("t.edn:4") && e.contains("[append k v] or [r k list]"), "{e}");
    // an append is no register micro-op: the first one is named
    let e = check_rw_register(&h, Consistency::Serializable).unwrap_err().in_file(std::path::Path::new("t.edn")).to_string();
    assert!(e.contains("t.edn:2") && e.contains("[w k v] or [r k v]"), "{e}");
}

/// A history as the JSON lines a run writes.
fn jsonl(h: &history::History) -> String {
    h.ops.iter().map(|o| serde_json::to_string(o).unwrap() + "\n").collect()
}

#[test]
fn a_file_read_with_its_values_apart_gives_the_same_result() {
    use checker::txn::{check_list_append_in, synth, Source};
    let mut h = synth::generate(&synth::TxnSpec::new(3_000, 5));
    synth::plant_cycles(&mut h);
    let text = jsonl(&h);
    let (lazy, texts) = history::parse_jsonl_values_apart(&text).unwrap();
    assert!(lazy.ops.iter().all(|o| o.value.is_null()), "the values are kept apart");
    for c in [Consistency::Serializable, Consistency::StrictSerializable] {
        let whole = check_list_append(&h, c).unwrap();
        let apart = check_list_append_in(Source { h: &lazy, texts: Some(&texts) }, c).unwrap();
        assert_eq!(serde_json::to_value(&whole).unwrap(), serde_json::to_value(&apart).unwrap(), "{}", c.name());
    }
    // a malformed transaction still names its line
    let bad = text.replace("[\"append\"", "[\"bogus\"");
    let (lazy, texts) = history::parse_jsonl_values_apart(&bad).unwrap();
    let e = check_list_append_in(Source { h: &lazy, texts: Some(&texts) }, Consistency::Serializable).unwrap_err();
    let e = e.in_file(std::path::Path::new("t.jsonl")).to_string();
    assert!(e.starts_with("t.jsonl:") && e.contains("[append k v] or [r k list]"), "{e}");
}
