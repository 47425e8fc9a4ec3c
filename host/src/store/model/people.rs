//! Workspaces, the people in them (their sessions, sign-in attempts and invitations) and API
//! tokens (their roles and owners).

use serde::Serialize;

/// A business on the platform: its channels, people and data are its own.
#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
pub struct Workspace {
    pub id: i64,
    pub name: String,
    /// `active` or `suspended`.
    pub status: String,
    /// How many channels it has.
    pub channels: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Someone who signs in: an operator, or an admin, supervisor or agent of one workspace.
#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
pub struct Person {
    pub id: i64,
    /// `None` for the operator.
    pub workspace_id: Option<i64>,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub active: bool,
    /// Whether a password is set (the invitation was accepted).
    pub has_password: bool,
    pub created_at: i64,
    /// The language chosen for the pages (`en`, `id`); `None`: the browser's.
    pub language: Option<String>,
    #[serde(skip)]
    pub password_hash: Option<String>,
}

/// A signed-in person, as a session cookie names them.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub person: Person,
    /// Whether the person's workspace is suspended.
    pub suspended: bool,
    /// What cookie-authenticated writes must send back in `X-CSRF-Token`.
    pub csrf_token: String,
}

/// Why an invitation link cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvitationProblem {
    Unknown,
    Used,
    Expired,
}

/// Whether an attempt at a password may be checked: reserved (it counts as failed until its
/// password proves right), or refused until `until` (ms) because a key is at its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInAttempt {
    Reserved,
    LockedOut { until: i64 },
}

/// What a person or token may do.
#[derive(utoipa::ToSchema, Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A channel's bot (API tokens only, made with their channels): reads and answers its
    /// channels' conversations and hands them to people; nothing else. The lowest role.
    Bot,
    Agent,
    Supervisor,
    Admin,
    /// The installation: plugins, workspaces, provider apps, every workspace.
    Operator,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Bot => "bot",
            Self::Agent => "agent",
            Self::Supervisor => "supervisor",
            Self::Admin => "admin",
            Self::Operator => "operator",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "agent" => Ok(Self::Agent),
            "supervisor" => Ok(Self::Supervisor),
            "admin" => Ok(Self::Admin),
            "operator" => Ok(Self::Operator),
            "bot" => Ok(Self::Bot),
            other => Err(format!("unknown role `{other}` (operator, admin, supervisor, agent or bot)")),
        }
    }
}

/// A token as its workspace's admin sees it.
#[derive(utoipa::ToSchema, Debug, Clone, serde::Serialize)]
pub struct TokenInfo {
    pub id: i64,
    pub label: String,
    pub role: Role,
    /// The token's first characters, to recognise it.
    pub prefix: String,
    pub created_at: i64,
    /// A bot token's channels: the ones it is the bot of (other roles: none, left out).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub channels: Vec<String>,
}

/// Whose a presented token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenOwner {
    /// The token's id (audit entries name it; the token itself is never stored).
    pub id: i64,
    pub role: Role,
    /// `None` for the operator.
    pub workspace: Option<i64>,
    /// The workspace is suspended: its tokens are refused.
    pub suspended: bool,
}
