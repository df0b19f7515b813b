//! The token file `bearertokenauth` reads (`filename:`) and watches: one token
//! per line, the first field of each non-empty line (the rest of a line is
//! ignored, as the extension does). A server accepts every token in it; a
//! client sends the first. So rotation with overlap writes the new token first
//! and keeps the current one second, and `retire` keeps the first line only.

use std::path::Path;

use super::{SECRET_MODE, Token, TokenError};
use crate::secret_file::write_atomic;

/// How a rotation treats the token being replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rotation {
    /// The old token stops working as soon as the collector reloads the file.
    Replace,
    /// The old token stays valid next to the new one until [`retire`].
    Overlap,
}

/// What a rotation did (counts only: the tokens are secrets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotated {
    /// The previous current token is still accepted (overlap).
    pub kept_previous: bool,
    /// Tokens no longer in the file.
    pub dropped: usize,
}

/// The tokens in `path`, current first, as `bearertokenauth` reads them.
pub fn read_tokens(path: &Path) -> Result<Vec<Token>, TokenError> {
    let text = std::fs::read_to_string(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => TokenError::Missing {
            path: path.to_owned(),
        },
        _ => TokenError::io("cannot read", path, e),
    })?;
    let tokens = parse(path, &text)?;
    if tokens.is_empty() {
        return Err(TokenError::NoToken {
            path: path.to_owned(),
        });
    }
    Ok(tokens)
}

fn parse(path: &Path, text: &str) -> Result<Vec<Token>, TokenError> {
    text.lines()
        .enumerate()
        .filter_map(|(i, line)| line.split_whitespace().next().map(|t| (i + 1, t)))
        .map(|(line, field)| {
            Token::parse(field).ok_or_else(|| TokenError::NotAToken {
                path: path.to_owned(),
                line,
            })
        })
        .collect()
}

/// Writes a new token file holding `token`; refuses to replace an existing
/// one (that is [`rotate`], which keeps an overlap when asked).
pub fn create(path: &Path, token: &Token) -> Result<(), TokenError> {
    if path.exists() {
        return Err(TokenError::Exists {
            path: path.to_owned(),
        });
    }
    write(path, &[token])
}

/// Puts `new` first in the token file at `path`; with [`Rotation::Overlap`]
/// the current token stays second (older ones are dropped: at most two are
/// valid at once).
pub fn rotate(path: &Path, new: &Token, rotation: Rotation) -> Result<Rotated, TokenError> {
    let old = read_tokens(path)?;
    let (current, older) = old.split_first().expect("read_tokens returns at least one");
    if rotation == Rotation::Overlap {
        write(path, &[new, current])?;
        Ok(Rotated {
            kept_previous: true,
            dropped: older.len(),
        })
    } else {
        write(path, &[new])?;
        Ok(Rotated {
            kept_previous: false,
            dropped: old.len(),
        })
    }
}

/// Ends an overlap: keeps only the current (first) token. Returns how many
/// tokens stopped being valid (0: there was no overlap; the file is untouched).
pub fn retire(path: &Path) -> Result<usize, TokenError> {
    let tokens = read_tokens(path)?;
    if tokens.len() == 1 {
        return Ok(0);
    }
    write(path, &tokens[..1].iter().collect::<Vec<_>>())?;
    Ok(tokens.len() - 1)
}

fn write(path: &Path, tokens: &[&Token]) -> Result<(), TokenError> {
    let text: String = tokens.iter().map(|t| format!("{}\n", t.expose())).collect();
    write_atomic(path, text.as_bytes(), SECRET_MODE)
        .map_err(|e| TokenError::io("cannot write", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tok(s: &str) -> Token {
        Token::parse(s).unwrap()
    }

    fn file(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ingest.token");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn reads_the_first_field_of_each_non_empty_line_like_bearertokenauth() {
        let (_d, path) = file("  new  rest ignored\n\n\told\n");
        let got = read_tokens(&path).unwrap();
        assert_eq!(got, [tok("new"), tok("old")]);
    }

    #[test]
    fn an_empty_file_holds_no_token() {
        let (_d, path) = file("\n  \n");
        let err = read_tokens(&path).unwrap_err().to_string();
        assert!(err.contains("holds no token"), "{err}");
    }

    #[test]
    fn overlap_keeps_the_current_token_second_and_drops_older_ones() {
        let (_d, path) = file("b\na\n");
        let done = rotate(&path, &tok("c"), Rotation::Overlap).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "c\nb\n");
        assert_eq!(
            done,
            Rotated {
                kept_previous: true,
                dropped: 1
            }
        );
    }

    #[test]
    fn replace_leaves_only_the_new_token() {
        let (_d, path) = file("b\na\n");
        let done = rotate(&path, &tok("c"), Rotation::Replace).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "c\n");
        assert_eq!(done.dropped, 2);
    }

    #[test]
    fn retire_keeps_the_first_token_and_is_a_no_op_without_overlap() {
        let (_d, path) = file("c\nb\n");
        assert_eq!(retire(&path).unwrap(), 1);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "c\n");
        assert_eq!(retire(&path).unwrap(), 0);
    }

    #[test]
    fn create_refuses_to_replace_an_existing_file() {
        let (_d, path) = file("a\n");
        let err = create(&path, &tok("b")).unwrap_err().to_string();
        assert!(
            err.contains("already exists") && err.contains("token rotate"),
            "{err}"
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "a\n");
    }
}
