//! Which declaration files a run reads (its selection): the `-f` paths as given, each folder standing for every
//! `telephony.yaml` beneath it (recursively, in path order, hidden folders skipped, links to folders not followed).
//! A folder beneath (or given) that cannot be listed is part of the selection too, in its place, as an error naming
//! it: the other files still run, and the run exits 1.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::Error;

/// The file read when no `-f` is given, and the name looked for in folders.
pub const DEFAULT_FILE: &str = "telephony.yaml";

/// The files of a run, in the order they are worked on and reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// The files, and in their place (path order) each folder that could not be listed.
    pub files: Vec<PathBuf>,
    /// The folders of `files` that could not be listed, and why.
    pub unreadable: BTreeMap<PathBuf, String>,
    /// Whether the run reports several files (more than one `-f`, or a folder): each under its own heading, with an
    /// overall summary. A single `-f FILE` (or none) reports exactly as a one-file run always has.
    pub several: bool,
}

impl Selection {
    /// Why an entry of [`Selection::files`] is a folder that could not be listed, if it is one.
    pub fn unreadable(&self, path: &Path) -> Option<&str> {
        self.unreadable.get(path).map(String::as_str)
    }
}

/// Expands the `-f` arguments (none means `telephony.yaml`). A folder without any `telephony.yaml` (and without any
/// folder that could not be listed) is an error naming it; a file given twice is read once.
pub fn select(given: &[PathBuf]) -> Result<Selection, Error> {
    let mut unreadable = BTreeMap::new();
    if given.is_empty() {
        return Ok(Selection { files: vec![PathBuf::from(DEFAULT_FILE)], unreadable, several: false });
    }
    let mut files: Vec<PathBuf> = Vec::new();
    let mut several = given.len() > 1;
    for path in given {
        if std::fs::metadata(path).is_ok_and(|m| m.is_dir()) {
            several = true;
            let mut found = Vec::new();
            walk(path, &mut found);
            if found.is_empty() {
                return Err(Error::Files {
                    path: path.display().to_string(),
                    reason: format!("the folder holds no {DEFAULT_FILE} (hidden folders are skipped)"),
                });
            }
            found.sort();
            for entry in found {
                if let Entry::Unreadable(reason) = entry.1 {
                    unreadable.insert(entry.0.clone(), reason);
                }
                files.push(entry.0);
            }
        } else {
            // A missing or unreadable file is reported by the loader, located, in its place.
            files.push(path.clone());
        }
    }
    let mut seen = std::collections::HashSet::new();
    files.retain(|f| seen.insert(f.canonicalize().unwrap_or_else(|_| f.clone())));
    Ok(Selection { files, unreadable, several })
}

/// What a walk found at a path.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Entry {
    /// A `telephony.yaml` (the loader checks it is a regular file it can read).
    File,
    /// A folder that could not be listed (or an entry whose kind could not be read), and why.
    Unreadable(String),
}

/// Collects every `telephony.yaml` beneath `dir`, and every folder there that cannot be listed (named exactly,
/// and the walk goes on). Hidden entries (a name starting with `.`) are skipped, and links to folders are not
/// followed (no loops); a link to a file is kept (the loader checks it is a regular file).
fn walk(dir: &Path, found: &mut Vec<(PathBuf, Entry)>) {
    // `-f .` finds `prod/telephony.yaml`, not `./prod/telephony.yaml`.
    let tidy =
        |path: &Path| -> PathBuf { path.components().filter(|c| !matches!(c, std::path::Component::CurDir)).collect() };
    let unreadable = |e: std::io::Error| Entry::Unreadable(format!("cannot read the folder: {}", io_reason(&e)));
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => return found.push((tidy(dir), unreadable(e))),
    };
    for entry in entries {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => return found.push((tidy(dir), unreadable(e))),
        };
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        match entry.file_type() {
            Ok(kind) if kind.is_dir() => walk(&path, found),
            Ok(_) if name == DEFAULT_FILE => found.push((tidy(&path), Entry::File)),
            Ok(_) => {}
            Err(e) => found.push((tidy(&path), Entry::Unreadable(format!("cannot read it: {}", io_reason(&e))))),
        }
    }
}

fn io_reason(err: &std::io::Error) -> String {
    match err.kind() {
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        std::io::ErrorKind::NotFound => "it is gone".into(),
        kind => kind.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_expand_recursively_in_path_order_skipping_hidden_ones() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "b/telephony.yaml",
            "a/x/telephony.yaml",
            "a/telephony.yaml",
            "a-b/telephony.yaml",
            ".git/telephony.yaml",
            "a/.hidden/telephony.yaml",
            "c/other.yaml",
        ] {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "x").unwrap();
        }
        let selection = select(&[dir.path().to_path_buf()]).unwrap();
        let names: Vec<String> =
            selection.files.iter().map(|f| f.strip_prefix(dir.path()).unwrap().display().to_string()).collect();
        assert_eq!(names, ["a/telephony.yaml", "a/x/telephony.yaml", "a-b/telephony.yaml", "b/telephony.yaml"]);
        assert!(selection.several);
    }

    #[test]
    fn a_folder_without_a_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(".hidden")).unwrap();
        std::fs::write(dir.path().join(".hidden/telephony.yaml"), "x").unwrap();
        let err = select(&[dir.path().to_path_buf()]).unwrap_err();
        assert!(err.to_string().contains(&dir.path().display().to_string()), "{err}");
        assert!(err.to_string().contains("holds no telephony.yaml"), "{err}");
    }

    #[test]
    fn one_file_is_a_one_file_run_and_none_means_the_default() {
        let default =
            Selection { files: vec![PathBuf::from(DEFAULT_FILE)], unreadable: BTreeMap::new(), several: false };
        assert_eq!(select(&[]).unwrap(), default);
        let one = select(&[PathBuf::from("x.yaml")]).unwrap();
        assert!(!one.several);
        let two = select(&[PathBuf::from("x.yaml"), PathBuf::from("y.yaml")]).unwrap();
        assert!(two.several);
        assert_eq!(select(&[PathBuf::from("x.yaml"), PathBuf::from("x.yaml")]).unwrap().files.len(), 1);
    }
}
