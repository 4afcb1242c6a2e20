//! Who is asking: users with roles and teams, Argon2id passwords, API tokens with scopes
//! (random, shown once, stored as SHA-256), sessions; and the [`Actor`] every store
//! operation is given, which decides what it may see and change.

use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::Store;
use crate::db::{hex, new_id, now};
use crate::error::{ErrorCode, Result, StoreError};

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything, including users, tokens, custom fields and the audit log.
    Admin,
    /// Reads and writes every record, imports.
    Manager,
    /// Reads and writes its own records and its team's.
    Sales,
    /// Reads everything and runs analytics; changes nothing.
    Analyst,
}

impl Role {
    /// The role's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Manager => "manager",
            Role::Sales => "sales",
            Role::Analyst => "analyst",
        }
    }

    /// The role of this name.
    pub fn parse(name: &str) -> Result<Role> {
        match name {
            "admin" => Ok(Role::Admin),
            "manager" => Ok(Role::Manager),
            "sales" => Ok(Role::Sales),
            "analyst" => Ok(Role::Analyst),
            _ => Err(StoreError::new(
                ErrorCode::InvalidValue,
                format!("unknown role {name:?}: use admin, manager, sales or analyst"),
            )
            .with_field("role")),
        }
    }
}

/// What a credential allows, on top of the user's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Read records.
    Read,
    /// Create, update, delete, merge records.
    Write,
    /// Import files and undo imports.
    Import,
    /// Users, tokens, custom fields, the audit log.
    Admin,
}

impl Scope {
    /// Every scope, for sessions (a logged-in user is limited by the role only).
    pub const ALL: &'static [Scope] = &[Scope::Read, Scope::Write, Scope::Import, Scope::Admin];

    /// The scope's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
            Scope::Import => "import",
            Scope::Admin => "admin",
        }
    }

    /// The scope of this name.
    pub fn parse(name: &str) -> Result<Scope> {
        Scope::ALL
            .iter()
            .copied()
            .find(|scope| scope.as_str() == name.trim())
            .ok_or_else(|| {
                StoreError::new(
                    ErrorCode::InvalidValue,
                    format!("unknown scope {name:?}: use read, write, import or admin"),
                )
                .with_field("scopes")
            })
    }
}

/// Whoever performs an operation.
#[derive(Debug, Clone)]
pub struct Actor {
    /// The user, or `None` for the system itself (the command line, the analytics write-back).
    pub user_id: Option<String>,
    /// The user's role.
    pub role: Role,
    /// The user's team.
    pub team_id: Option<String>,
    /// What the credential used allows.
    pub scopes: Vec<Scope>,
}

impl Actor {
    /// The system: all rights, recorded in the audit log as no user.
    pub fn system() -> Actor {
        Actor {
            user_id: None,
            role: Role::Admin,
            team_id: None,
            scopes: Scope::ALL.to_vec(),
        }
    }

    /// Fails with 403 unless the credential has `scope`.
    pub fn require_scope(&self, scope: Scope) -> Result<()> {
        if self.scopes.contains(&scope) {
            Ok(())
        } else {
            Err(StoreError::forbidden(format!(
                "this token lacks the {:?} scope; create a token with it (salesflow token create --scopes ...)",
                scope.as_str()
            )))
        }
    }

    /// Fails with 403 unless the role may change records.
    pub fn require_writer(&self) -> Result<()> {
        self.require_scope(Scope::Write)?;
        if self.role == Role::Analyst {
            return Err(StoreError::forbidden(
                "analysts read and run analytics but change nothing",
            ));
        }
        Ok(())
    }

    /// Fails with 403 unless the user is an admin with the admin scope.
    pub fn require_admin(&self) -> Result<()> {
        self.require_scope(Scope::Admin)?;
        if self.role != Role::Admin {
            return Err(StoreError::forbidden("only an admin may do this"));
        }
        Ok(())
    }

    /// Whether the role sees every record (all but sales).
    pub fn sees_everything(&self) -> bool {
        self.role != Role::Sales
    }
}

/// A user as shown to clients (never the password hash).
#[derive(Debug, Clone, Serialize)]
pub struct User {
    /// Id.
    pub id: String,
    /// Login e-mail.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Team.
    pub team_id: Option<String>,
    /// Whether the user may log in.
    pub active: bool,
}

/// A new credential, shown once.
#[derive(Debug, Clone, Serialize)]
pub struct IssuedToken {
    /// The token's id (to revoke it).
    pub id: String,
    /// The secret itself: `sf_` and 64 hex digits. Not stored; only its hash is.
    pub token: String,
}

fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    getrandom::fill(&mut buffer).expect("the operating system's random source failed");
    hex(&buffer)
}

fn sha256_hex(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

/// Argon2id is tens of milliseconds of CPU by design; it runs on tokio's blocking threads so
/// that a few logins do not stall every other request on the async workers.
async fn on_blocking_thread<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work).await.map_err(|error| {
        StoreError::new(
            ErrorCode::Database,
            format!("password hashing stopped: {error}"),
        )
    })
}

async fn hash_password(password: &str) -> Result<String> {
    let password = password.to_owned();
    on_blocking_thread(move || {
        let hash: std::result::Result<PasswordHash, _> =
            Argon2::default().hash_password(password.as_bytes());
        hash.map(|hash| hash.to_string()).map_err(|error| {
            StoreError::new(
                ErrorCode::Database,
                format!("hashing the password failed: {error}"),
            )
        })
    })
    .await?
}

async fn verify_password(password: &str, stored: String) -> Result<bool> {
    let password = password.to_owned();
    on_blocking_thread(move || {
        PasswordVerifier::<str>::verify_password(&Argon2::default(), password.as_bytes(), &stored)
            .is_ok()
    })
    .await
}

fn user_from_row(row: &sqlx::any::AnyRow) -> Result<User> {
    let active = row.try_get::<i64, _>("active")? != 0;
    Ok(User {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        name: row.try_get("name")?,
        role: Role::parse(&row.try_get::<String, _>("role")?)?,
        team_id: row.try_get("team_id")?,
        active,
    })
}

const USER_COLUMNS: &str = "id, email, name, role, team_id, active";

impl Store {
    /// Creates a team, or returns the id of the team of that name.
    pub async fn ensure_team(&self, actor: &Actor, name: &str) -> Result<String> {
        actor.require_admin()?;
        if let Some(row) = sqlx::query("SELECT id FROM teams WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?
        {
            return Ok(row.try_get("id")?);
        }
        let id = new_id();
        sqlx::query("INSERT INTO teams (id, name, created_at) VALUES ($1, $2, $3)")
            .bind(&id)
            .bind(name)
            .bind(now())
            .execute(&self.pool)
            .await?;
        Ok(id)
    }

    /// Creates a user. Without a password, one is generated and returned (show it once).
    pub async fn create_user(
        &self,
        actor: &Actor,
        email: &str,
        name: &str,
        role: Role,
        team_id: Option<&str>,
        password: Option<&str>,
    ) -> Result<(User, Option<String>)> {
        actor.require_admin()?;
        let email = email.trim().to_lowercase();
        if !email.contains('@') {
            return Err(StoreError::new(
                ErrorCode::InvalidValue,
                "a user's e-mail must be an address",
            )
            .with_field("email"));
        }
        let generated = password.is_none().then(|| random_hex(12));
        let password = password.or(generated.as_deref()).unwrap_or_default();
        if password.len() < 10 {
            return Err(StoreError::new(
                ErrorCode::InvalidValue,
                "a password needs at least 10 characters",
            )
            .with_field("password"));
        }
        let exists = sqlx::query("SELECT 1 FROM users WHERE email = $1")
            .bind(&email)
            .fetch_optional(&self.pool)
            .await?;
        if exists.is_some() {
            return Err(StoreError::new(
                ErrorCode::Conflict,
                format!("a user with e-mail {email} exists"),
            )
            .with_field("email"));
        }
        let user = User {
            id: new_id(),
            email,
            name: name.to_string(),
            role,
            team_id: team_id.map(str::to_string),
            active: true,
        };
        // Hashed before the transaction: SQLite's write lock is not held through Argon2.
        let password_hash = hash_password(password).await?;
        let mut transaction = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO users (id, email, name, role, team_id, password_hash, active, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&user.id)
        .bind(&user.email)
        .bind(&user.name)
        .bind(role.as_str())
        .bind(user.team_id.clone())
        .bind(password_hash)
        .bind(1i64)
        .bind(now())
        .execute(&mut *transaction)
        .await?;
        let changes = serde_json::json!({
            "email": [null, user.email], "name": [null, user.name],
            "role": [null, role.as_str()], "team_id": [null, user.team_id],
        });
        crate::audit::record(
            &mut transaction,
            actor,
            "create",
            "users",
            Some(&user.id),
            &changes,
            None,
        )
        .await?;
        transaction.commit().await?;
        Ok((user, generated))
    }

    /// On an empty database, creates the first admin and returns its one-time password.
    pub async fn ensure_admin(&self) -> Result<Option<(User, String)>> {
        let count: i64 = sqlx::query("SELECT COUNT(*) AS n FROM users")
            .fetch_one(&self.pool)
            .await?
            .try_get("n")?;
        if count > 0 {
            return Ok(None);
        }
        let (user, password) = self
            .create_user(
                &Actor::system(),
                "admin@localhost",
                "Administrator",
                Role::Admin,
                None,
                None,
            )
            .await?;
        Ok(Some((user, password.unwrap_or_default())))
    }

    /// The user of this id.
    pub async fn user(&self, id: &str) -> Result<User> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::not_found("user", id))?;
        user_from_row(&row)
    }

    /// The user with this e-mail (compared as stored: trimmed, lower-cased).
    pub async fn user_by_email(&self, email: &str) -> Result<User> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users WHERE email = $1"
        )))
        .bind(email.trim().to_lowercase())
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| {
            StoreError::new(
                ErrorCode::NotFound,
                format!("no user with e-mail {email:?}"),
            )
        })?;
        user_from_row(&row)
    }

    /// Every user.
    pub async fn users(&self, actor: &Actor) -> Result<Vec<User>> {
        actor.require_scope(Scope::Read)?;
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users ORDER BY email"
        )))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(user_from_row).collect()
    }

    fn actor_for(user: &User, scopes: Vec<Scope>) -> Result<Actor> {
        if !user.active {
            return Err(StoreError::new(
                ErrorCode::Unauthorized,
                "this user is deactivated",
            ));
        }
        Ok(Actor {
            user_id: Some(user.id.clone()),
            role: user.role,
            team_id: user.team_id.clone(),
            scopes,
        })
    }

    /// Checks a password; the same error whether the e-mail or the password is wrong.
    pub async fn login(&self, email: &str, password: &str) -> Result<User> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS}, password_hash FROM users WHERE email = $1"
        )))
        .bind(email.trim().to_lowercase())
        .fetch_optional(&self.pool)
        .await?;
        let denied = || StoreError::new(ErrorCode::Unauthorized, "wrong e-mail or password");
        let Some(row) = row else {
            // Hash anyway so a missing user takes as long as a wrong password.
            let _ = hash_password(password).await;
            return Err(denied());
        };
        let stored: Option<String> = row.try_get("password_hash")?;
        let user = user_from_row(&row)?;
        let verified = match stored {
            Some(hash) => verify_password(password, hash).await?,
            None => false,
        };
        if !user.active || !verified {
            return Err(denied());
        }
        let mut transaction = self.begin_write().await?;
        let actor = Store::actor_for(&user, Scope::ALL.to_vec())?;
        crate::audit::record(
            &mut transaction,
            &actor,
            "login",
            "users",
            Some(&user.id),
            &serde_json::json!({}),
            None,
        )
        .await?;
        transaction.commit().await?;
        Ok(user)
    }

    /// Issues an API token for `user_id` with `scopes`. Admins issue for anyone; others only
    /// for themselves.
    pub async fn create_token(
        &self,
        actor: &Actor,
        user_id: &str,
        name: &str,
        scopes: &[Scope],
    ) -> Result<IssuedToken> {
        if actor.user_id.as_deref() != Some(user_id) {
            actor.require_admin()?;
        }
        if let Some(wider) = scopes.iter().find(|scope| !actor.scopes.contains(scope)) {
            return Err(StoreError::forbidden(format!(
                "a token cannot grant the {:?} scope its creator's credential lacks",
                wider.as_str()
            )));
        }
        if scopes.is_empty() {
            return Err(StoreError::new(
                ErrorCode::InvalidValue,
                "a token needs at least one scope",
            )
            .with_field("scopes"));
        }
        self.user(user_id).await?;
        let token = format!("sf_{}", random_hex(32));
        let id = new_id();
        let scope_names: Vec<&str> = scopes.iter().map(|scope| scope.as_str()).collect();
        let mut transaction = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO api_tokens (id, user_id, name, token_hash, scopes, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&id)
        .bind(user_id)
        .bind(name)
        .bind(sha256_hex(&token))
        .bind(scope_names.join(","))
        .bind(now())
        .execute(&mut *transaction)
        .await?;
        let changes = serde_json::json!({"user_id": [null, user_id], "name": [null, name], "scopes": [null, scope_names]});
        crate::audit::record(
            &mut transaction,
            actor,
            "create",
            "api_tokens",
            Some(&id),
            &changes,
            None,
        )
        .await?;
        transaction.commit().await?;
        Ok(IssuedToken { id, token })
    }

    /// Revokes a token; it stops working at once.
    pub async fn revoke_token(&self, actor: &Actor, token_id: &str) -> Result<()> {
        let row =
            sqlx::query("SELECT user_id FROM api_tokens WHERE id = $1 AND revoked_at IS NULL")
                .bind(token_id)
                .fetch_optional(&self.pool)
                .await?
                .ok_or_else(|| StoreError::not_found("active token", token_id))?;
        let owner: String = row.try_get("user_id")?;
        if actor.user_id.as_deref() != Some(owner.as_str()) {
            actor.require_admin()?;
        }
        let mut transaction = self.begin_write().await?;
        sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2")
            .bind(now())
            .bind(token_id)
            .execute(&mut *transaction)
            .await?;
        crate::audit::record(
            &mut transaction,
            actor,
            "revoke",
            "api_tokens",
            Some(token_id),
            &serde_json::json!({}),
            None,
        )
        .await?;
        transaction.commit().await?;
        Ok(())
    }

    /// The actor a bearer token stands for: 401 when unknown or revoked.
    pub async fn authenticate_token(&self, token: &str) -> Result<Actor> {
        let unauthorized =
            || StoreError::new(ErrorCode::Unauthorized, "unknown or revoked API token");
        let row =
            sqlx::query("SELECT user_id, scopes, revoked_at FROM api_tokens WHERE token_hash = $1")
                .bind(sha256_hex(token))
                .fetch_optional(&self.pool)
                .await?
                .ok_or_else(unauthorized)?;
        if row.try_get::<Option<String>, _>("revoked_at")?.is_some() {
            return Err(unauthorized());
        }
        let scopes = row
            .try_get::<String, _>("scopes")?
            .split(',')
            .filter(|name| !name.is_empty())
            .map(Scope::parse)
            .collect::<Result<Vec<_>>>()?;
        let user = self.user(&row.try_get::<String, _>("user_id")?).await?;
        Store::actor_for(&user, scopes)
    }

    /// Opens a session for a logged-in user: (session secret for the cookie, CSRF token).
    pub async fn create_session(&self, user: &User, hours: i64) -> Result<(String, String)> {
        let secret = random_hex(32);
        let csrf = random_hex(16);
        let expires = (chrono::Utc::now() + chrono::Duration::hours(hours))
            .format("%Y-%m-%dT%H:%M:%S%.6fZ")
            .to_string();
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(sha256_hex(&secret))
        .bind(&user.id)
        .bind(&csrf)
        .bind(now())
        .bind(expires)
        .execute(&self.pool)
        .await?;
        Ok((secret, csrf))
    }

    /// The actor of a session cookie and the session's CSRF token: 401 when unknown or expired.
    pub async fn authenticate_session(&self, secret: &str) -> Result<(Actor, String)> {
        let unauthorized =
            || StoreError::new(ErrorCode::Unauthorized, "no valid session; log in again");
        let row = sqlx::query(
            "SELECT user_id, csrf_token, expires_at FROM sessions WHERE token_hash = $1",
        )
        .bind(sha256_hex(secret))
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(unauthorized)?;
        if row.try_get::<String, _>("expires_at")? < now() {
            return Err(unauthorized());
        }
        let user = self.user(&row.try_get::<String, _>("user_id")?).await?;
        Ok((
            Store::actor_for(&user, Scope::ALL.to_vec())?,
            row.try_get("csrf_token")?,
        ))
    }

    /// Ends a session.
    pub async fn end_session(&self, secret: &str) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(sha256_hex(secret))
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
