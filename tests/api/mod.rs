mod assets_and_health;
mod auth;
mod concurrency;
mod csrf_and_headers;
mod matrix;
mod members;
mod orgs;
mod sessions;
