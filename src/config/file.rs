//! `--config FILE`: one TOML file for every setting, the accounts and the
//! routes.
//!
//! A top-level key is the long name of a flag (`listen`, `tls-cert` or
//! `tls_cert`, ...) and becomes that flag's arguments, placed before the
//! real command line: clap parses and validates them with the flag's own
//! parser, so a flag added to [`super::Args`] is a setting of the file with
//! no code here. A flag given on the command line replaces the file's
//! value (repeatable ones too: the file's `route` list is dropped when
//! `--route` is given). `[[account]]` tables are accounts (their keys are
//! those of the accounts file, through the same parser) and `[routes]`
//! maps a destination prefix to the system_id that owns it.
//!
//! The document is read with toml's spanned parser so that every error
//! names the file, the line and the key.

use clap::builder::ArgAction;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// Keys that are flags but not settings.
const NOT_SETTINGS: &[&str] = &["help", "version", "config", "check-config"];

/// What the file holds, owned (the parse borrows the text).
#[derive(Clone, Debug, Default)]
pub struct FileConfig {
    pub path: PathBuf,
    /// Flag arguments (`--listen`, `0.0.0.0:2775`, ...) for the keys the
    /// command line does not give.
    pub args: Vec<OsString>,
    /// (flag long name, line) of each key turned into `args`.
    pub lines: Vec<(String, usize)>,
    pub accounts: Vec<FileAccount>,
    pub routes: Vec<FileRoute>,
}

/// One `[[account]]` table.
#[derive(Clone, Debug)]
pub struct FileAccount {
    pub line: usize,
    pub system_id: String,
    /// (line, key, value as the accounts file would write it).
    pub settings: Vec<(usize, String, String)>,
}

/// One `prefix = "system_id"` of `[routes]`.
#[derive(Clone, Debug)]
pub struct FileRoute {
    pub line: usize,
    pub prefix: String,
    pub system_id: String,
}

impl FileConfig {
    /// `path:line: key: msg`.
    pub fn at(&self, line: usize, key: &str, msg: &str) -> String {
        format!("{}:{line}: {key}: {msg}", self.path.display())
    }

    /// A validation error that names a flag set by the file gets the
    /// file's line and key in front (`smsc.toml:7: window: --window must be ...`).
    pub fn locate(&self, msg: &str) -> String {
        let flag = msg.split("--").nth(1).map(|rest| {
            rest.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
                .next()
                .unwrap_or("")
        });
        match flag.and_then(|f| self.lines.iter().find(|(k, _)| k == f)) {
            Some((key, line)) => self.at(*line, key, msg),
            None => msg.to_string(),
        }
    }
}

/// The 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()
        .get(..end)
        .map_or(0, |b| b.iter().filter(|&&c| c == b'\n').count())
        + 1
}

/// A scalar as the text a flag (or the accounts file) takes.
fn scalar(v: &DeValue<'_>) -> Result<String, String> {
    match v {
        DeValue::String(s) => Ok(s.to_string()),
        DeValue::Integer(i) => i128::from_str_radix(i.as_str(), i.radix())
            .map(|n| n.to_string())
            .map_err(|e| format!("bad integer: {e}")),
        DeValue::Float(f) => Ok(f.as_str().replace('_', "")),
        DeValue::Boolean(b) => Ok(b.to_string()),
        DeValue::Datetime(_) => Err("no setting takes a date".into()),
        DeValue::Array(_) => Err("expected one value, not a list".into()),
        DeValue::Table(_) => Err("expected a value, not a table".into()),
    }
}

/// A scalar, or a list of them written as the accounts file's comma list.
fn scalar_or_list(v: &DeValue<'_>) -> Result<String, String> {
    match v {
        DeValue::Array(a) => a
            .iter()
            .map(|x| scalar(x.get_ref()))
            .collect::<Result<Vec<_>, _>>()
            .map(|v| v.join(", ")),
        other => scalar(other),
    }
}

/// The first line of a clap error, without its `error: ` prefix.
fn clap_reason(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let first = text.lines().next().unwrap_or("invalid value");
    first.strip_prefix("error: ").unwrap_or(first).to_string()
}

/// Reads and checks `path`. `cmd` is the flags' definition; `given(id)`
/// says whether the command line sets the argument `id` (it wins).
pub fn read(
    path: &Path,
    cmd: &clap::Command,
    given: &dyn Fn(&str) -> bool,
) -> Result<FileConfig, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("--config {}: cannot read it: {e}", path.display()))?;
    parse(path, &text, cmd, given)
}

/// [`read`] on text already read.
pub fn parse(
    path: &Path,
    text: &str,
    cmd: &clap::Command,
    given: &dyn Fn(&str) -> bool,
) -> Result<FileConfig, String> {
    let mut out = FileConfig {
        path: path.to_path_buf(),
        ..FileConfig::default()
    };
    let root = DeTable::parse(text).map_err(|e| {
        let line = e.span().map_or(1, |s| line_of(text, s.start));
        format!(
            "{}:{line}: {}",
            path.display(),
            e.message().trim_end().replace('\n', "; ")
        )
    })?;
    for (key, value) in root.get_ref().iter() {
        let line = line_of(text, key.span().start);
        let name = key.get_ref().as_ref();
        let v = value.get_ref();
        match (name, v) {
            ("account", DeValue::Array(a)) if a.iter().all(|t| t.get_ref().is_table()) => {
                for t in a.iter() {
                    out.accounts.push(account(text, &out, t)?);
                }
            }
            ("account", DeValue::Table(_)) => {
                return Err(out.at(line, name, "write accounts as [[account]] tables"))
            }
            ("routes", DeValue::Table(t)) => {
                for (prefix, owner) in t.iter() {
                    let line = line_of(text, prefix.span().start);
                    let system_id = match owner.get_ref() {
                        DeValue::String(s) => s.to_string(),
                        _ => {
                            return Err(out.at(
                                line,
                                prefix.get_ref(),
                                "expected the system_id that owns the prefix, as a string",
                            ))
                        }
                    };
                    out.routes.push(FileRoute {
                        line,
                        prefix: prefix.get_ref().to_string(),
                        system_id,
                    });
                }
            }
            _ => flag(text, &mut out, cmd, given, key, value)?,
        }
    }
    Ok(out)
}

/// A top-level key: the arguments of the flag it names, checked now by
/// that flag's parser so that a bad value is reported at its line.
fn flag(
    text: &str,
    out: &mut FileConfig,
    cmd: &clap::Command,
    given: &dyn Fn(&str) -> bool,
    key: &Spanned<std::borrow::Cow<'_, str>>,
    value: &Spanned<DeValue<'_>>,
) -> Result<(), String> {
    let line = line_of(text, key.span().start);
    let name = key.get_ref().as_ref();
    let long = name.replace('_', "-");
    let Some(arg) = cmd
        .get_arguments()
        .find(|a| {
            // An old name (`metrics-listen`) is still the flag's key.
            a.get_long() == Some(long.as_str())
                || a.get_all_aliases()
                    .is_some_and(|v| v.contains(&long.as_str()))
        })
        .filter(|_| !NOT_SETTINGS.contains(&long.as_str()))
    else {
        return Err(out.at(line, name, "unknown setting (not a flag of smsc)"));
    };
    if given(arg.get_id().as_str()) {
        return Ok(());
    }
    let dashed = format!("--{long}");
    let mut args: Vec<String> = Vec::new();
    match (arg.get_action(), value.get_ref()) {
        (ArgAction::SetTrue, DeValue::Boolean(b)) => {
            if *b {
                args.push(dashed.clone());
            }
        }
        (ArgAction::SetTrue, _) => return Err(out.at(line, name, "expected true or false")),
        (ArgAction::Append, DeValue::Array(a)) => {
            for item in a.iter() {
                let v = scalar(item.get_ref())
                    .map_err(|m| out.at(line_of(text, item.span().start), name, &m))?;
                args.push(dashed.clone());
                args.push(v);
            }
        }
        (_, v) => {
            let v = scalar(v).map_err(|m| out.at(line, name, &m))?;
            args.push(dashed.clone());
            args.push(v);
        }
    }
    // The flag's own parser and checks, on this key alone.
    let mut probe: Vec<&str> = vec!["smsc"];
    probe.extend(args.iter().map(String::as_str));
    if let Err(e) = cmd.clone().try_get_matches_from(probe) {
        return Err(out.at(line, name, &clap_reason(&e)));
    }
    out.args.extend(args.into_iter().map(OsString::from));
    out.lines.push((long, line));
    Ok(())
}

/// One `[[account]]` table: `system_id`, then the accounts file's keys.
fn account(text: &str, out: &FileConfig, t: &Spanned<DeValue<'_>>) -> Result<FileAccount, String> {
    let line = line_of(text, t.span().start);
    let Some(table) = t.get_ref().as_table() else {
        return Err(out.at(line, "account", "expected a table"));
    };
    let mut system_id = None;
    let mut settings = Vec::new();
    let mut has_password = false;
    for (k, v) in table.iter() {
        let kline = line_of(text, k.span().start);
        let key = k.get_ref().as_ref();
        let val = scalar_or_list(v.get_ref()).map_err(|m| out.at(kline, key, &m))?;
        match key {
            "system_id" => system_id = Some((kline, val)),
            _ => {
                has_password |= key == "password";
                settings.push((kline, key.to_string(), val));
            }
        }
    }
    let Some((sline, system_id)) = system_id else {
        return Err(out.at(line, "system_id", "missing in this [[account]]"));
    };
    crate::account::check_credentials(&system_id, "")
        .map_err(|m| out.at(sline, "system_id", &m))?;
    if !has_password {
        return Err(out.at(sline, "password", "missing"));
    }
    Ok(FileAccount {
        line: sline,
        system_id,
        settings,
    })
}
