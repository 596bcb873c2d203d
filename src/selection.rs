//! Which declaration files a run reads (its selection): the `-f` paths as given, each folder standing for every `telephony.yaml`
//! beneath it (recursively, in path order, hidden folders skipped, links to folders not followed).

use std::path::{Path, PathBuf};

use crate::error::Error;

/// The file read when no `-f` is given, and the name looked for in folders.
pub const DEFAULT_FILE: &str = "telephony.yaml";

/// The files of a run, in the order they are worked on and reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    pub files: Vec<PathBuf>,
    /// Whether the run reports several files (more than one `-f`, or a folder): each under its own heading, with an
    /// overall summary. A single `-f FILE` (or none) reports exactly as a one-file run always has.
    pub several: bool,
}

/// Expands the `-f` arguments (none means `telephony.yaml`). A folder without any `telephony.yaml` is an error
/// naming it; a file given twice is read once.
pub fn select(given: &[PathBuf]) -> Result<Selection, Error> {
    if given.is_empty() {
        return Ok(Selection { files: vec![PathBuf::from(DEFAULT_FILE)], several: false });
    }
    let mut files: Vec<PathBuf> = Vec::new();
    let mut several = given.len() > 1;
    for path in given {
        if std::fs::metadata(path).is_ok_and(|m| m.is_dir()) {
            several = true;
            let mut found = Vec::new();
            walk(path, &mut found).map_err(|e| Error::Files {
                path: path.display().to_string(),
                reason: format!("cannot read the folder: {}", e.kind()),
            })?;
            if found.is_empty() {
                return Err(Error::Files {
                    path: path.display().to_string(),
                    reason: format!("the folder holds no {DEFAULT_FILE} (hidden folders are skipped)"),
                });
            }
            found.sort();
            files.extend(found);
        } else {
            // A missing or unreadable file is reported by the loader, located, in its place.
            files.push(path.clone());
        }
    }
    let mut seen = std::collections::HashSet::new();
    files.retain(|f| seen.insert(f.canonicalize().unwrap_or_else(|_| f.clone())));
    Ok(Selection { files, several })
}

/// Collects every `telephony.yaml` beneath `dir`. Hidden entries (a name starting with `.`) are skipped, and links
/// to folders are not followed (no loops); a link to a file is kept (the loader checks it is a regular file).
fn walk(dir: &Path, found: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        let kind = entry.file_type()?;
        if kind.is_dir() {
            walk(&path, found)?;
        } else if name == DEFAULT_FILE {
            // `-f .` finds `prod/telephony.yaml`, not `./prod/telephony.yaml`.
            found.push(path.components().filter(|c| !matches!(c, std::path::Component::CurDir)).collect());
        }
    }
    Ok(())
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
        assert_eq!(select(&[]).unwrap(), Selection { files: vec![PathBuf::from(DEFAULT_FILE)], several: false });
        let one = select(&[PathBuf::from("x.yaml")]).unwrap();
        assert!(!one.several);
        let two = select(&[PathBuf::from("x.yaml"), PathBuf::from("y.yaml")]).unwrap();
        assert!(two.several);
        assert_eq!(select(&[PathBuf::from("x.yaml"), PathBuf::from("x.yaml")]).unwrap().files.len(), 1);
    }
}
