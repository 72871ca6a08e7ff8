//! The journal of names without a mount: changes made on a directory as
//! the filesystem makes them, then a loss undone by `revert`.

use super::*;
use std::collections::BTreeMap;

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("faultline-names-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).unwrap();
    d
}

/// Every file under `d` (the hidden directory left out) with its contents.
fn tree(d: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut todo = vec![d.to_path_buf()];
    while let Some(dir) = todo.pop() {
        for e in fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(d).unwrap().display().to_string();
            if rel == HIDDEN {
                continue;
            }
            if p.is_dir() {
                out.insert(format!("{rel}/"), String::new());
                todo.push(p);
            } else {
                out.insert(rel, fs::read_to_string(&p).unwrap());
            }
        }
    }
    out
}

/// A name removed as the filesystem removes it: to the trash, journalled.
fn gone(n: &mut Names, d: &Path, rel: &str, dir: u64) {
    let (t, trash) = n.trash();
    fs::rename(d.join(rel), trash).unwrap();
    n.record(dir, Change::Gone(rel.into(), t)).unwrap();
}

#[test]
fn a_loss_undoes_every_change_no_fsync_of_its_directory_made_durable() {
    let d = scratch("undo");
    fs::write(d.join("old"), "old").unwrap();
    fs::write(d.join("target"), "before").unwrap();
    fs::create_dir(d.join("sub")).unwrap();
    let before = tree(&d);
    let mut n = Names::open(&d).unwrap();
    // made: a file, a directory with a file in it
    fs::write(d.join("new"), "new").unwrap();
    n.record(1, Change::New("new".into())).unwrap();
    fs::create_dir(d.join("dir")).unwrap();
    n.record(1, Change::New("dir".into())).unwrap();
    fs::write(d.join("dir/f"), "f").unwrap();
    n.record(7, Change::New("dir/f".into())).unwrap();
    // removed, and renamed over an existing name (write tmp, rename)
    gone(&mut n, &d, "old", 1);
    fs::write(d.join("tmp"), "after").unwrap();
    n.record(1, Change::New("tmp".into())).unwrap();
    gone(&mut n, &d, "target", 1);
    fs::rename(d.join("tmp"), d.join("target")).unwrap();
    n.record(1, Change::Moved("tmp".into(), "target".into())).unwrap();
    // a file made and removed again leaves nothing to undo; a directory removed
    fs::write(d.join("sub/x"), "x").unwrap();
    n.record(9, Change::New("sub/x".into())).unwrap();
    gone(&mut n, &d, "sub/x", 9);
    assert_eq!(n.pending(), 7, "a name made and removed since the last sync is forgotten");
    assert_eq!(fs::read_dir(d.join(HIDDEN).join("trash")).unwrap().count(), 2, "and leaves the trash");
    gone(&mut n, &d, "sub", 1);
    assert_eq!(n.pending(), 8);
    assert!(!d.join("old").exists() && fs::read_to_string(d.join("target")).unwrap() == "after");
    drop(n); // the power loss: the process gone, its journal left
    let undone = revert(&d).unwrap();
    assert_eq!(undone.len(), 8, "{undone:?}");
    assert_eq!(undone[0], "removed sub: back");
    assert_eq!(undone[1], "renamed tmp to target: back");
    assert_eq!(undone[7], "made new: gone");
    assert_eq!(tree(&d), before, "every name as before the changes");
    assert!(!d.join(HIDDEN).exists(), "the hidden directory is gone");
    assert!(revert(&d).unwrap().is_empty(), "nothing is undone twice");
}

#[test]
fn a_directory_s_fsync_or_the_commit_makes_its_names_durable() {
    let d = scratch("durable");
    let mut n = Names::open(&d).unwrap();
    fs::create_dir(d.join("a")).unwrap();
    n.record(1, Change::New("a".into())).unwrap();
    fs::write(d.join("a/kept"), "k").unwrap();
    n.record(5, Change::New("a/kept".into())).unwrap();
    fs::write(d.join("lost"), "l").unwrap();
    n.record(1, Change::New("lost".into())).unwrap();
    fs::write(d.join("a/gone"), "g").unwrap();
    n.record(5, Change::New("a/gone".into())).unwrap();
    gone(&mut n, &d, "a/gone", 5);
    // a's fsync: its two entries are durable, the trash of the removed one emptied
    n.sync_dir(5).unwrap();
    assert_eq!(n.pending(), 2);
    assert_eq!(fs::read_dir(d.join(HIDDEN).join("trash")).unwrap().count(), 0, "a name removed for good leaves the trash");
    drop(n);
    assert_eq!(revert(&d).unwrap(), ["made lost: gone", "made a: gone"]);
    // the root was not synced: "a" itself is undone, and takes its durable entries with it
    assert_eq!(tree(&d), BTreeMap::new());

    let d = scratch("commit");
    let mut n = Names::open(&d).unwrap();
    fs::write(d.join("early"), "e").unwrap();
    n.record(1, Change::New("early".into())).unwrap();
    n.commit().unwrap();
    fs::write(d.join("late"), "l").unwrap();
    n.record(1, Change::New("late".into())).unwrap();
    assert_eq!(n.pending(), 1, "only the change made since the commit is pending");
    drop(n);
    revert(&d).unwrap();
    assert_eq!(tree(&d).keys().cloned().collect::<Vec<_>>(), vec!["early".to_string()]);
}

#[test]
fn a_clean_unmount_keeps_everything_and_the_journal_reads_any_name() {
    let d = scratch("settle");
    let mut n = Names::open(&d).unwrap();
    let odd = "a name with spaces\nand a newline";
    fs::write(d.join(odd), "x").unwrap();
    n.record(1, Change::New(odd.into())).unwrap();
    fs::write(d.join("b"), "b").unwrap();
    gone(&mut n, &d, "b", 1);
    n.settle().unwrap();
    assert!(!d.join(HIDDEN).exists());
    assert_eq!(tree(&d).keys().cloned().collect::<Vec<_>>(), vec![odd.to_string()]);
    // every change reads back as written; a line cut short is no change
    for c in
        [Change::New(odd.into()), Change::Gone("x/y".into(), "12".into()), Change::Moved("a".into(), "b".into()), Change::Exchanged("c".into(), "d".into())]
    {
        assert_eq!(parse(line(&c).trim_end()), Some(c));
    }
    assert_eq!(parse("G 6162"), None);
    assert_eq!(parse("M 61"), None);
    assert_eq!(parse("N 6"), None);
}
