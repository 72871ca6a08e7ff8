//! Every history of the shared Porcupine corpus gets its known verdict.

use checker::{check_history, CheckOptions, ModelKind, Verdict};
use history::{Format, Semantics};
use std::path::{Path, PathBuf};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/porcupine")
}

#[test]
fn every_corpus_history_gets_its_expected_verdict() {
    let dir = corpus();
    let table =
        std::fs::read_to_string(dir.join("EXPECTED.tsv")).unwrap_or_else(|e| panic!("the corpus must be beside the repository ({}): {e}", dir.display()));
    let (mut checked, mut wrong) = (0, Vec::new());
    for row in table.lines().skip(1) {
        let cols: Vec<&str> = row.split('\t').collect();
        let [file, expected, model] = cols[..] else { panic!("bad row {row:?}") };
        let path = dir.join(file);
        if std::fs::metadata(&path).map(|m| m.len() == 0).unwrap_or(true) {
            continue; // kept back from this copy of the corpus
        }
        let (format, mut opts) = if file.starts_with("jepsen/") {
            (Format::JepsenLog, CheckOptions::new(ModelKind::CasRegister))
        } else {
            let mut o = CheckOptions::new(ModelKind::Kv);
            o.split = !model.contains("NoPartition");
            (Format::PorcupineKv, o)
        };
        opts.semantics = Semantics::PORCUPINE;
        let (_, h) = history::load(&path, Some(format)).unwrap();
        let r = check_history(&h, &opts).unwrap();
        let want = if expected == "linearizable" { Verdict::Valid } else { Verdict::Invalid };
        checked += 1;
        if r.valid != want {
            wrong.push(format!("{file} split={}: {:?}, want {:?}", opts.split, r.valid, want));
        }
        if want == Verdict::Invalid {
            let cx = r.counterexample.expect("an invalid verdict carries a counterexample");
            assert!(h.ops[cx.unplaceable.id].is_invoke(), "{file}: the unplaceable op points at its invocation");
        }
    }
    assert!(checked >= 50, "only {checked} corpus histories found");
    assert!(wrong.is_empty(), "wrong verdicts: {wrong:#?}");
}

#[test]
fn corpus_kv_histories_agree_split_and_whole() {
    for name in ["c01-ok.txt", "c01-bad.txt", "c10-bad.txt"] {
        let (_, h) = history::load(&corpus().join("kv").join(name), None).unwrap();
        let mut split = CheckOptions::new(ModelKind::Kv);
        split.semantics = Semantics::PORCUPINE;
        let whole = CheckOptions { split: false, ..split };
        let a = check_history(&h, &split).unwrap();
        let b = check_history(&h, &whole).unwrap();
        assert_eq!(a.valid, b.valid, "{name}");
        assert!(a.partitions > 1 && b.partitions == 1, "{name}: {} / {} parts", a.partitions, b.partitions);
    }
}
