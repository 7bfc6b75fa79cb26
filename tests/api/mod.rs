mod assets_and_health;
mod auth;
mod csrf_and_headers;
mod matrix;
mod orgs;
mod sessions;
