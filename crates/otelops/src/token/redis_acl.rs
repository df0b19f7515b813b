//! A Redis ACL file (`aclfile`) that lets Redis's `default` user in with a
//! token: the line stores the token's SHA-256 (`#<hex>`), which is how Redis
//! keeps and compares ACL passwords, so the file the Redis server reads holds
//! no password. Clients authenticate with the token itself (`AUTH`,
//! `parker-booking --redis-password-file`).

use std::path::Path;

use super::{SECRET_MODE, Token, TokenError};
use crate::secret_file::write_atomic;

/// The ACL line: the `default` user on, with the token's hash as its only
/// password and every key, channel and command (as without ACLs).
pub fn acl_line(token: &Token) -> String {
    let hash = crate::backup::sha256_hex(token.expose().as_bytes());
    format!("user default on #{hash} ~* &* +@all\n")
}

/// Writes (or replaces, after a rotation) the ACL file for `token`,
/// atomically with mode 0600.
pub fn write(path: &Path, token: &Token) -> Result<(), TokenError> {
    write_atomic(path, acl_line(token).as_bytes(), SECRET_MODE)
        .map_err(|e| TokenError::io("cannot write", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_holds_the_sha256_of_the_token_and_not_the_token() {
        let token = Token::parse("foobared").unwrap();
        // sha256("foobared"), as `printf foobared | sha256sum` prints it.
        assert_eq!(
            acl_line(&token),
            "user default on #1b58ee375b42e41f0e48ef2ff27d10a5b1f6924a9acdcdba7cae868e7adce6bf ~* &* +@all\n"
        );
        assert!(!acl_line(&token).contains("foobared"));
    }
}
