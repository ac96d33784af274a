//! sea-orm entities, one per table of the `migrations` crate. Rows only: conversion to and from
//! port types lives next to each port implementation.
pub mod artifact;
pub mod blob;
pub mod hosted_file;
pub mod hosted_package;
pub mod repository;
pub mod signing_key;
pub mod token;
pub mod upload_session;
