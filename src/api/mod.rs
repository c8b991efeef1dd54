//! The API's request and response shapes, with their OpenAPI docs, and the HTTP-free helpers
//! that serialise them (ETags, JSON bytes). Below services, so use cases can build answers.

pub mod articles;
pub mod comments;
pub mod etag;
pub mod series;
pub mod users;
pub mod whole;
