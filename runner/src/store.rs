//! The run store: `STORE/<name>/<YYYYMMDDTHHMMSS>/`, and `STORE/latest`.

use std::path::{Path, PathBuf};

/// Makes a new run directory named by the local time.
pub fn create_run_dir(store: &Path, name: &str) -> Result<PathBuf, crate::StoreError> {
    let ts = chrono::Local::now().format("%Y%m%dT%H%M%S").to_string();
    let base = store.join(name);
    std::fs::create_dir_all(&base).map_err(|e| format!("{}: {e}", base.display()))?;
    for i in 1.. {
        let dir = if i == 1 { base.join(&ts) } else { base.join(format!("{ts}-{i}")) };
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(format!("{}: {e}", dir.display()).into()),
        }
    }
    unreachable!("the loop returns")
}

/// Points `STORE/latest` at `dir` (a relative symlink, replaced atomically).
pub fn point_latest(store: &Path, dir: &Path) -> Result<(), crate::StoreError> {
    let rel = dir.strip_prefix(store).unwrap_or(dir);
    let tmp = store.join(format!(".latest-{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(rel, &tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
    Ok(std::fs::rename(&tmp, store.join("latest")).map_err(|e| format!("{}: {e}", store.join("latest").display()))?)
}

/// Every run directory under `store` (those with a test.json), oldest first.
pub fn runs(store: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(names) = std::fs::read_dir(store) else { return out };
    for n in names.flatten() {
        if n.file_name().to_string_lossy().starts_with('.') || n.file_name() == "latest" {
            continue;
        }
        if let Ok(runs) = std::fs::read_dir(n.path()) {
            for r in runs.flatten() {
                if r.path().join("test.json").exists() {
                    out.push(r.path());
                }
            }
        }
    }
    out.sort_by_key(|p| p.file_name().map(|s| s.to_os_string()));
    out
}

/// A store as a directory: `store` itself, or a `.tar.gz` / `.tgz` archive
/// of one unpacked under `work/shards/NAME` (its runs keep the archive's
/// name in their paths, so each stays traceable to its shard).
pub fn unpacked(store: &Path, work: &Path) -> Result<PathBuf, crate::StoreError> {
    if store.is_dir() {
        return Ok(store.to_path_buf());
    }
    let name = store.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let Some(stem) = name.strip_suffix(".tar.gz").or_else(|| name.strip_suffix(".tgz")) else {
        return Err(format!("{}: not a store directory or a .tar.gz archive of one", store.display()).into());
    };
    let dir = work.join("shards").join(stem);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let o = std::process::Command::new("tar").arg("-xzf").arg(store).arg("-C").arg(&dir).output().map_err(|e| format!("tar: {e}"))?;
    if !o.status.success() {
        return Err(format!("{}: cannot unpack: {}", store.display(), String::from_utf8_lossy(&o.stderr).trim()).into());
    }
    // an archive of the store directory itself holds one top directory
    let entries: Vec<PathBuf> = std::fs::read_dir(&dir).map_err(|e| e.to_string())?.flatten().map(|e| e.path()).collect();
    match entries.as_slice() {
        [only] if only.is_dir() && runs(only).len() > runs(&dir).len() => Ok(only.clone()),
        _ => Ok(dir),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_dirs_are_unique_and_latest_follows() {
        let store = std::env::temp_dir().join(format!("faultline-store-{}", std::process::id()));
        let a = create_run_dir(&store, "etcd-register").unwrap();
        let b = create_run_dir(&store, "etcd-register").unwrap();
        assert_ne!(a, b);
        for d in [&a, &b] {
            std::fs::write(d.join("test.json"), "{}").unwrap();
        }
        point_latest(&store, &a).unwrap();
        point_latest(&store, &b).unwrap();
        assert_eq!(std::fs::canonicalize(store.join("latest")).unwrap(), std::fs::canonicalize(&b).unwrap());
        assert_eq!(runs(&store).len(), 2);
        let _ = std::fs::remove_dir_all(&store);
    }
}
