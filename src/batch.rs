//! Running one unit of work per declaration file: at most `--jobs` at once, each result handed on in file order as
//! soon as it and every file before it are done; and the check, before anything is sent, that no two files manage
//! the same provider of the same account.
//!
//! Accounts are told apart by an HMAC-SHA256 of their API key under a key drawn at random for this run: equal keys
//! give equal tags within the run, and a tag is useless outside it. Neither a key nor a tag is printed or stored.

use std::collections::HashMap;
use std::future::Future;

use futures_util::StreamExt;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

use crate::error::Error;
use crate::provider::Provider;

/// Runs `work` on each item, at most `jobs` at once (at least one), and calls `done` with each result in the
/// items' order, as soon as that item and every one before it have finished.
pub async fn in_order<I, T, Fut>(
    items: impl IntoIterator<Item = I>,
    jobs: usize,
    work: impl FnMut(I) -> Fut,
    mut done: impl FnMut(T),
) where
    Fut: Future<Output = T>,
{
    let mut results = futures_util::stream::iter(items.into_iter().map(work)).buffered(jobs.max(1));
    while let Some(result) = results.next().await {
        done(result);
    }
}

/// Tags API keys for comparison within this run (see the module's doc).
pub struct AccountTagger {
    key: [u8; 32],
}

impl AccountTagger {
    pub fn new() -> Result<AccountTagger, Error> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|e| Error::Runtime(format!("no random numbers for this run: {e}")))?;
        Ok(AccountTagger { key })
    }

    /// The tag of an account's API key. The key is exposed only to the MAC.
    pub fn tag(&self, api_key: &SecretString) -> AccountTag {
        // HMAC accepts keys of any length.
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes a key of any length");
        mac.update(api_key.expose_secret().as_bytes());
        AccountTag::Keyed(mac.finalize().into_bytes().into())
    }
}

/// What identifies a file's account, for [`check_accounts`]: the tag of its API key, or (for `validate`, which
/// reads no secret) the reference it is read from.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum AccountTag {
    Keyed([u8; 32]),
    Reference(String),
}

/// One file as [`check_accounts`] sees it: its name, its account, whether it manages each provider (declares it, as
/// a block or `null`), indexed by [`Provider::index`], and whether it manages the SIP config and the registrations.
pub struct FileAccount {
    pub file: String,
    pub account: AccountTag,
    pub manages: [bool; 3],
    /// `sip:` is declared.
    pub manages_sip: bool,
    /// `sipRegistrations:` is declared.
    pub manages_registrations: bool,
}

impl FileAccount {
    /// What the file manages, by the key that declares it (`twilio`, ..., `sip`, `sipRegistrations`).
    fn managed(&self) -> impl Iterator<Item = &'static str> + '_ {
        let providers = Provider::ALL.into_iter().filter(|p| self.manages[p.index()]).map(Provider::key);
        let sip = [(self.manages_sip, crate::sip::SIP), (self.manages_registrations, crate::sip::REGISTRATIONS)]
            .into_iter()
            .filter(|(managed, _)| *managed)
            .map(|(_, key)| key);
        providers.chain(sip)
    }
}

/// Refuses two files that manage the same provider (or the SIP config, or the registrations) of the same account,
/// naming the first such pair.
pub fn check_accounts(files: &[FileAccount]) -> Result<(), Error> {
    let mut owner: HashMap<(&AccountTag, &str), &str> = HashMap::new();
    for file in files {
        for managed in file.managed() {
            if let Some(first) = owner.insert((&file.account, managed), &file.file) {
                return Err(Error::SameAccount {
                    provider: managed.to_string(),
                    first: first.to_string(),
                    second: file.file.clone(),
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, key: &str, tagger: &AccountTagger, manages: [bool; 3]) -> FileAccount {
        FileAccount {
            file: name.into(),
            account: tagger.tag(&SecretString::from(key.to_string())),
            manages,
            manages_sip: false,
            manages_registrations: false,
        }
    }

    #[test]
    fn the_sip_settings_of_one_account_are_managed_by_one_file() {
        let t = AccountTagger::new().unwrap();
        let sip = |name: &str, key: &str, config: bool, registrations: bool| FileAccount {
            manages_sip: config,
            manages_registrations: registrations,
            ..file(name, key, &t, [false; 3])
        };
        assert!(check_accounts(&[sip("a", "k1", true, false), sip("b", "k1", false, true)]).is_ok());
        assert!(check_accounts(&[sip("a", "k1", true, true), sip("b", "k2", true, true)]).is_ok());
        let err = check_accounts(&[sip("a", "k1", false, true), sip("b", "k1", true, true)]).unwrap_err().to_string();
        assert!(err.starts_with("a and b both manage sipRegistrations"), "{err}");
    }

    #[test]
    fn the_same_provider_of_the_same_account_twice_is_refused_naming_both_files() {
        let t = AccountTagger::new().unwrap();
        let ok = [file("a", "k1", &t, [true, false, false]), file("b", "k2", &t, [true, false, false])];
        assert!(check_accounts(&ok).is_ok());
        let other_provider = [file("a", "k1", &t, [true, false, false]), file("b", "k1", &t, [false, true, true])];
        assert!(check_accounts(&other_provider).is_ok());
        let clash = [
            file("a", "k1", &t, [true, false, false]),
            file("b", "k2", &t, [false, false, true]),
            file("c", "k1", &t, [true, true, false]),
        ];
        let err = check_accounts(&clash).unwrap_err().to_string();
        assert!(err.starts_with("a and c both manage twilio"), "{err}");
        assert!(!err.contains("k1"), "{err}");
    }

    #[test]
    fn tags_differ_between_runs_and_keys() {
        let (a, b) = (AccountTagger::new().unwrap(), AccountTagger::new().unwrap());
        let key = SecretString::from("key".to_string());
        assert_eq!(a.tag(&key), a.tag(&key));
        assert_ne!(a.tag(&key), b.tag(&key));
        assert_ne!(a.tag(&key), a.tag(&SecretString::from("key2".to_string())));
    }

    #[test]
    fn results_come_in_order_whatever_finishes_first() {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        let mut seen = Vec::new();
        runtime.block_on(in_order(
            [30u64, 1, 20, 2],
            3,
            |ms| async move {
                tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
                ms
            },
            |ms| seen.push(ms),
        ));
        assert_eq!(seen, [30, 1, 20, 2]);
    }
}
