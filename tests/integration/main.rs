//! promlab's integration tests: one binary, one file per feature, each test a user story.
//!
//! Tests that need something this machine may lack (a Docker engine, an image, promtool, Chromium) say
//! `SKIPPED` with the reason instead of passing silently; with `PROMLAB_REQUIRE_TOOLS=1` (as in CI) a
//! missing tool fails the test instead.

// A test binary exports nothing: `pub` inside it means "shared between test files".
#![allow(unreachable_pub)]

mod support;

mod alerting;
mod arima;
mod classroom;
mod cli;
mod compose_stack;
mod dashboards;
mod doctor;
mod evidence;
mod export;
mod faults;
mod forecaster;
mod forecaster_shards;
mod generated_files;
mod grade;
mod image;
mod kubernetes;
mod metrics_lint;
mod page_in_browser;
mod prometheus_scrape;
mod tsdb;
mod workflows;
