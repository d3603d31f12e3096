//! Listing photos: upload (type and size checked), a display copy and a thumbnail, files under the
//! upload directory, removal. Every stored file is a fresh JPEG encoded here, so nothing of the
//! uploaded file but its pixels (no EXIF, e.g. no GPS position of a household's home) reaches a
//! buyer.
//!
//! `POST /api/market/photos` (multipart: `listing_id`, then one or more `photo` files) is a plain
//! axum route rather than a server function: it streams a body far larger than the 1 MiB every
//! other endpoint accepts. A browser form posting to it (no script needed) is sent back to the
//! listing's edit page; any other client gets JSON.

use crate::auth::server::user_of_request;
use crate::error::{AppError, ErrorCode};
use crate::server::db::{now, Db};
use crate::server::state::AppState;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits, RgbImage};
use std::io::Cursor;
use std::path::{Path, PathBuf};

pub use super::api::MAX_PHOTOS;
/// The largest file accepted.
pub const MAX_PHOTO_BYTES: usize = 5 * 1024 * 1024;
/// The largest upload request: six largest files and the form's other fields.
pub const MAX_UPLOAD_BYTES: usize = MAX_PHOTOS * MAX_PHOTO_BYTES + 64 * 1024;
pub use super::api::PHOTO_UPLOAD_PATH as UPLOAD_PATH;
/// Where stored files are served.
pub const PUBLIC_PREFIX: &str = "/uploads/";
/// The display copy's longest side, in pixels.
const FULL_MAX_SIDE: u32 = 1600;
/// The phone copy, cropped to the gallery's 4:3 frame; made when the display copy is wider.
pub use super::api::{PHOTO_MEDIUM_HEIGHT as MEDIUM_HEIGHT, PHOTO_MEDIUM_WIDTH as MEDIUM_WIDTH};
/// Thumbnails are cropped to 4:3.
pub use super::api::{PHOTO_THUMB_HEIGHT as THUMB_HEIGHT, PHOTO_THUMB_WIDTH as THUMB_WIDTH};
/// Larger images are refused before they are decoded (a decompression bomb needs no big file).
const MAX_SIDE: u32 = 10_000;
/// The most pixels a photo may have: 40 megapixels (a 7,300 × 5,500 camera picture).
pub const MAX_PIXELS: u64 = 40_000_000;
/// What one decode may allocate: the RGBA buffer of [`MAX_PIXELS`] and some room.
const MAX_DECODE_BYTES: u64 = MAX_PIXELS * 4 + 16 * 1024 * 1024;

/// A photo ready to store: the display copy, the phone copy (when the display copy is wider
/// than it) and the thumbnail, all JPEG.
pub struct Encoded {
    pub full: Vec<u8>,
    pub medium: Option<Vec<u8>>,
    pub thumb: Vec<u8>,
}

/// Decodes an uploaded JPEG, PNG or WebP (judged by its bytes, not its name or declared type),
/// turns it upright, and encodes the display copy and thumbnail. CPU-bound: call it from a
/// blocking thread.
pub fn encode_upload(bytes: &[u8]) -> Result<Encoded, ErrorCode> {
    if bytes.len() > MAX_PHOTO_BYTES {
        return Err(ErrorCode::PhotoTooLarge);
    }
    let format = image::guess_format(bytes).map_err(|_| ErrorCode::PhotoType)?;
    if !matches!(
        format,
        ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP
    ) {
        return Err(ErrorCode::PhotoType);
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    let mut decoder = reader
        .into_decoder()
        .map_err(|_| ErrorCode::PhotoUnreadable)?;
    // The header tells the size before a pixel is decoded: a small file can claim a huge
    // picture (a "decompression bomb"), so the pixel count is checked first.
    let (w, h) = decoder.dimensions();
    if u64::from(w) * u64::from(h) > MAX_PIXELS {
        return Err(ErrorCode::PhotoTooManyPixels);
    }
    let orientation = decoder.orientation().ok();
    let mut img = DynamicImage::from_decoder(decoder).map_err(|_| ErrorCode::PhotoUnreadable)?;
    if let Some(o) = orientation {
        img.apply_orientation(o);
    }
    encode_image(&img).map_err(|_| ErrorCode::PhotoUnreadable)
}

/// The display copy and thumbnail of a picture (transparent parts on white).
pub fn encode_image(img: &DynamicImage) -> Result<Encoded, image::ImageError> {
    let rgb = on_white(img);
    let (w, h) = rgb.dimensions();
    let full = if w.max(h) > FULL_MAX_SIDE {
        DynamicImage::ImageRgb8(rgb).resize(
            FULL_MAX_SIDE,
            FULL_MAX_SIDE,
            image::imageops::FilterType::Triangle,
        )
    } else {
        DynamicImage::ImageRgb8(rgb)
    };
    let thumb = full.resize_to_fill(
        THUMB_WIDTH,
        THUMB_HEIGHT,
        image::imageops::FilterType::Triangle,
    );
    let medium = if full.width() > MEDIUM_WIDTH {
        Some(jpeg(
            &full.resize_to_fill(
                MEDIUM_WIDTH,
                MEDIUM_HEIGHT,
                image::imageops::FilterType::Triangle,
            ),
            80,
        )?)
    } else {
        None
    };
    Ok(Encoded {
        full: jpeg(&full, 85)?,
        medium,
        thumb: jpeg(&thumb, 80)?,
    })
}

fn on_white(img: &DynamicImage) -> RgbImage {
    if !img.color().has_alpha() {
        return img.to_rgb8();
    }
    let rgba = img.to_rgba8();
    RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let p = rgba.get_pixel(x, y).0;
        let a = u16::from(p[3]);
        let c = |v: u8| ((u16::from(v) * a + 255 * (255 - a)) / 255) as u8;
        image::Rgb([c(p[0]), c(p[1]), c(p[2])])
    })
}

fn jpeg(img: &DynamicImage, quality: u8) -> Result<Vec<u8>, image::ImageError> {
    let mut out = Vec::new();
    let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality);
    img.to_rgb8().write_with_encoder(encoder)?;
    Ok(out)
}

/// A stored photo as buyers see it.
pub fn public_url(path: &str) -> String {
    format!("{PUBLIC_PREFIX}{path}")
}

/// Files written for one photo, relative to the upload directory.
struct Written {
    path: String,
    thumb_path: String,
    medium_path: Option<String>,
}

fn random_name() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 12];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Writes a file whole or not at all, and durably: the bytes reach the disk before the rename,
/// and the rename before the photo is recorded (and acknowledged).
async fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use tokio::io::AsyncWriteExt;
    let tmp = path.with_extension("part");
    let mut f = tokio::fs::File::create(&tmp).await?;
    f.write_all(bytes).await?;
    f.sync_all().await?;
    drop(f);
    tokio::fs::rename(&tmp, path).await?;
    if let Some(dir) = path.parent() {
        tokio::fs::File::open(dir).await?.sync_all().await?;
    }
    Ok(())
}

/// Whether `path` (below the upload directory) names a photo this module wrote:
/// `listings/<id>/<24 hex digits>[-thumb|-medium].jpg`. Anything else there (a `.part` file left by a
/// crash, a file someone put in the folder) is never served.
pub fn is_stored_photo_path(path: &str) -> bool {
    let mut parts = path.split('/');
    let (Some("listings"), Some(id), Some(file), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let Some(stem) = file.strip_suffix(".jpg") else {
        return false;
    };
    let name = stem
        .strip_suffix("-thumb")
        .or_else(|| stem.strip_suffix("-medium"))
        .unwrap_or(stem);
    (1..=19).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_digit())
        && name.len() == 24
        && name
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// `GET /uploads/{*path}`: a stored photo, as `image/jpeg`, cached for a year (every file has a
/// fresh random name); 404 for anything else.
pub async fn serve_photo(
    State(state): State<AppState>,
    axum::extract::Path(path): axum::extract::Path<String>,
    request: Request,
) -> Response {
    use tower::ServiceExt;
    if !is_stored_photo_path(&path) {
        return StatusCode::NOT_FOUND.into_response();
    }
    // The name ends in `.jpg`, so the file is served as `image/jpeg`.
    let file = state.settings.upload_dir.join(&path);
    match tower_http::services::ServeFile::new(file)
        .oneshot(request)
        .await
    {
        Ok(res) => {
            let mut res = res.into_response();
            if res.status().is_success() {
                res.headers_mut().insert(
                    header::CACHE_CONTROL,
                    http::HeaderValue::from_static("public, max-age=31536000, immutable"),
                );
            }
            res
        }
        Err(e) => {
            tracing::warn!(error = %e, "serving a photo");
            StatusCode::NOT_FOUND.into_response()
        }
    }
}

async fn remove_files(dir: &Path, written: &[Written]) {
    for w in written {
        for p in [Some(&w.path), Some(&w.thumb_path), w.medium_path.as_ref()]
            .into_iter()
            .flatten()
        {
            if let Err(e) = tokio::fs::remove_file(dir.join(p)).await {
                if e.kind() != std::io::ErrorKind::NotFound {
                    tracing::warn!(path = %p, error = %e, "could not remove a photo file");
                }
            }
        }
    }
}

/// Writes the photos' files and records them after the listing's existing photos, all or none:
/// more than [`MAX_PHOTOS`] in all is refused and leaves nothing behind. Returns the new ids.
pub async fn store(
    db: &Db,
    dir: &Path,
    listing_id: i64,
    photos: &[Encoded],
) -> Result<Vec<i64>, AppError> {
    let folder = format!("listings/{listing_id}");
    tokio::fs::create_dir_all(dir.join(&folder))
        .await
        .map_err(AppError::internal)?;
    let mut written = Vec::new();
    for p in photos {
        let name = random_name();
        let w = Written {
            path: format!("{folder}/{name}.jpg"),
            thumb_path: format!("{folder}/{name}-thumb.jpg"),
            medium_path: p
                .medium
                .as_ref()
                .map(|_| format!("{folder}/{name}-medium.jpg")),
        };
        let r = async {
            write_atomically(&dir.join(&w.path), &p.full).await?;
            if let (Some(path), Some(bytes)) = (&w.medium_path, &p.medium) {
                write_atomically(&dir.join(path), bytes).await?;
            }
            write_atomically(&dir.join(&w.thumb_path), &p.thumb).await
        }
        .await;
        written.push(w);
        if let Err(e) = r {
            remove_files(dir, &written).await;
            return Err(AppError::internal(e));
        }
    }
    match record(db, listing_id, &written).await {
        Ok(ids) => Ok(ids),
        Err(e) => {
            remove_files(dir, &written).await;
            Err(e)
        }
    }
}

async fn record(db: &Db, listing_id: i64, written: &[Written]) -> Result<Vec<i64>, AppError> {
    let mut tx = db.begin_write().await.map_err(AppError::from)?;
    // Touching the listing locks its row (PostgreSQL), so two uploads cannot both pass the count.
    let touched = sqlx::query("UPDATE listings SET updated_at = $1 WHERE id = $2")
        .bind(now())
        .bind(listing_id)
        .execute(&mut *tx)
        .await
        .map_err(AppError::internal)?;
    if touched.rows_affected() == 0 {
        return Err(AppError::new(ErrorCode::ListingUnavailable));
    }
    let (count, last): (i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), CAST(COALESCE(MAX(position), 0) AS BIGINT) FROM listing_photos WHERE listing_id = $1",
    )
    .bind(listing_id)
    .fetch_one(&mut *tx)
    .await
    .map_err(AppError::internal)?;
    if count as usize + written.len() > MAX_PHOTOS {
        return Err(AppError::new(ErrorCode::TooManyPhotos));
    }
    let mut ids = Vec::new();
    for (i, w) in written.iter().enumerate() {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO listing_photos (listing_id, position, path, thumb_path, medium_path) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(listing_id)
        .bind(last + 1 + i as i64)
        .bind(&w.path)
        .bind(&w.thumb_path)
        .bind(&w.medium_path)
        .fetch_one(&mut *tx)
        .await
        .map_err(AppError::internal)?;
        ids.push(id);
    }
    tx.commit().await.map_err(AppError::internal)?;
    Ok(ids)
}

/// Removes a photo: its row, then its files.
pub async fn remove(db: &Db, dir: &Path, photo_id: i64) -> Result<(), AppError> {
    let row: Option<(String, String, Option<String>)> = sqlx::query_as(
        "DELETE FROM listing_photos WHERE id = $1 RETURNING path, thumb_path, medium_path",
    )
    .bind(photo_id)
    .fetch_optional(db.writer())
    .await
    .map_err(AppError::from)?;
    let (path, thumb_path, medium_path) = row.ok_or_else(|| AppError::new(ErrorCode::NotFound))?;
    remove_files(
        dir,
        &[Written {
            path,
            thumb_path,
            medium_path,
        }],
    )
    .await;
    Ok(())
}

/// Where a browser's form is sent back to.
fn back_to(listing_id: Option<i64>, outcome: Result<usize, ErrorCode>) -> Response {
    let base = match listing_id {
        Some(id) => format!("/listing/{id}/edit"),
        None => "/seller".to_owned(),
    };
    let target = match outcome {
        Ok(n) => format!("{base}?photos_added={n}#photos"),
        Err(code) => format!("{base}?photo_error={}#photos", code.as_str()),
    };
    Redirect::to(&target).into_response()
}

/// `POST /api/market/photos`.
pub async fn upload(State(state): State<AppState>, request: Request) -> Response {
    let headers = request.headers().clone();
    let from_form = crate::server::wants_html(&headers);
    let mut listing_id = None;
    let result = receive(&state, &headers, request, &mut listing_id).await;
    match (from_form, result) {
        (true, r) => back_to(listing_id, r.map_err(|e| e.code)),
        (false, Ok(n)) => Json(serde_json::json!({ "added": n })).into_response(),
        (false, Err(e)) => crate::server::json_error(&headers, e),
    }
}

async fn receive(
    state: &AppState,
    headers: &HeaderMap,
    request: Request,
    listing_id: &mut Option<i64>,
) -> Result<usize, AppError> {
    let mut form = Multipart::from_request(request, state)
        .await
        .map_err(|_| AppError::new(ErrorCode::BadRequest))?;
    let result = receive_fields(state, headers, &mut form, listing_id).await;
    if result.is_err() {
        // Read what the client is still sending (the body limit bounds it), so that it gets
        // this answer rather than a connection reset mid-upload.
        while let Ok(Some(mut field)) = form.next_field().await {
            while let Ok(Some(_)) = field.chunk().await {}
        }
    }
    result
}

async fn receive_fields(
    state: &AppState,
    headers: &HeaderMap,
    form: &mut Multipart,
    listing_id: &mut Option<i64>,
) -> Result<usize, AppError> {
    let user = user_of_request(&state.db, headers)
        .await?
        .ok_or_else(|| AppError::new(ErrorCode::Unauthenticated))?;
    let mut files = Vec::new();
    while let Some(field) = form.next_field().await.map_err(field_error)? {
        match field.name() {
            Some("listing_id") => {
                let text = field.text().await.map_err(field_error)?;
                let id = text
                    .trim()
                    .parse::<i64>()
                    .map_err(|_| AppError::new(ErrorCode::BadRequest).field("listing_id"))?;
                // Only the listing's seller adds photos: checked before any file is read.
                super::server::require_seller(&state.db, &user, id).await?;
                *listing_id = Some(id);
            }
            Some("photo") => {
                if listing_id.is_none() {
                    return Err(AppError::new(ErrorCode::BadRequest).field("listing_id"));
                }
                let bytes = read_limited(field).await?;
                // A file input left empty still sends an empty part.
                if !bytes.is_empty() {
                    if files.len() == MAX_PHOTOS {
                        return Err(AppError::new(ErrorCode::TooManyPhotos));
                    }
                    files.push(bytes);
                }
            }
            _ => {}
        }
    }
    let id = listing_id.ok_or_else(|| AppError::new(ErrorCode::BadRequest).field("listing_id"))?;
    if files.is_empty() {
        return Err(AppError::new(ErrorCode::NoPhoto).field("photo"));
    }
    let encoded = encode_all(state, files).await?;
    let dir: PathBuf = state.settings.upload_dir.clone();
    store(&state.db, &dir, id, &encoded).await?;
    tracing::info!(listing_id = id, added = encoded.len(), "photos added");
    Ok(encoded.len())
}

/// `POST /api/market/new-listing`: the new-listing form with its photos, in one request
/// (multipart: the form's fields, `form[title]` and the rest as `save-listing` takes them, and
/// `photo` files). The photos are decoded first, so one that cannot be read creates nothing;
/// then the listing is saved as `save-listing` saves it, and the photos are stored with it. A
/// browser form is sent on to the new listing (to its edit page if the photos could not be
/// stored after all, to the seller desk with the error if nothing was saved); any other client
/// gets JSON: `{"id": …, "photo_error": null}`, or the error.
pub async fn create(State(state): State<AppState>, request: Request) -> Response {
    let headers = request.headers().clone();
    let from_form = crate::server::wants_html(&headers);
    let result = create_from(&state, &headers, request).await;
    match (from_form, result) {
        (true, Ok((id, None))) => Redirect::to(&format!("/listing/{id}")).into_response(),
        (true, Ok((id, Some(code)))) => back_to(Some(id), Err(code)),
        (true, Err(e)) => Redirect::to(&format!(
            "/seller/listings?listing_error={}&field={}#new-listing",
            e.code.as_str(),
            e.field.as_deref().unwrap_or("")
        ))
        .into_response(),
        (false, Ok((id, photo_error))) => Json(serde_json::json!({
            "id": id,
            "photo_error": photo_error.map(ErrorCode::as_str),
        }))
        .into_response(),
        (false, Err(e)) => crate::server::json_error(&headers, e),
    }
}

/// The most form fields the new-listing form sends (the terms editor has a row per linked
/// household, [`super::server`] bounds them further).
const MAX_FORM_FIELDS: usize = 1_000;
/// The most text all the form's fields hold together: the room [`MAX_UPLOAD_BYTES`] leaves
/// beside the photos.
const MAX_FORM_TEXT: usize = 64 * 1024;

async fn create_from(
    state: &AppState,
    headers: &HeaderMap,
    request: Request,
) -> Result<(i64, Option<ErrorCode>), AppError> {
    let user = user_of_request(&state.db, headers)
        .await?
        .ok_or_else(|| AppError::new(ErrorCode::Unauthenticated))?;
    // Only those who may sell get their files read and decoded (the policy decides the rest
    // when the listing is saved).
    if !matches!(
        user.role,
        crate::domain::role::Role::Household
            | crate::domain::role::Role::Cadre
            | crate::domain::role::Role::OrgManager
    ) {
        return Err(AppError::new(ErrorCode::Forbidden));
    }
    let mut form = Multipart::from_request(request, state)
        .await
        .map_err(|_| AppError::new(ErrorCode::BadRequest))?;
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut files = Vec::new();
    let mut text_room = MAX_FORM_TEXT;
    let read = async {
        while let Some(field) = form.next_field().await.map_err(field_error)? {
            let name = field.name().unwrap_or("").to_owned();
            if name == "photo" {
                let bytes = read_limited(field).await?;
                if !bytes.is_empty() {
                    if files.len() == MAX_PHOTOS {
                        return Err(AppError::new(ErrorCode::TooManyPhotos).field("photo"));
                    }
                    files.push(bytes);
                }
            } else if name.starts_with("form[") {
                if fields.len() == MAX_FORM_FIELDS {
                    return Err(AppError::new(ErrorCode::BadRequest));
                }
                let value = read_text(field, &mut text_room).await?;
                fields.push((name, value));
            }
        }
        Ok(())
    }
    .await;
    if let Err(e) = read {
        // Read what the client is still sending (the body limit bounds it), so that it gets
        // this answer rather than a connection reset mid-upload.
        while let Ok(Some(mut field)) = form.next_field().await {
            while let Ok(Some(_)) = field.chunk().await {}
        }
        return Err(e);
    }
    // The same check of every text value as the server functions' bodies get.
    if !fields
        .iter()
        .all(|(k, v)| crate::domain::text::is_clean(k) && crate::domain::text::is_clean(v))
    {
        return Err(AppError::new(ErrorCode::ControlCharacter));
    }
    let listing: super::api::ListingForm = form_of(&fields)?;
    if listing.id.is_some() {
        return Err(AppError::new(ErrorCode::BadRequest).field("id"));
    }
    // Whether this user may sell for this seller, before any photo is decoded.
    super::server::may_save(&state.db, &user, &listing).await?;
    let encoded = if files.is_empty() {
        Vec::new()
    } else {
        encode_all(state, files).await?
    };
    let id = super::server::save_listing_as(&state.db, &user, &listing).await?;
    if encoded.is_empty() {
        return Ok((id, None));
    }
    let dir: PathBuf = state.settings.upload_dir.clone();
    match store(&state.db, &dir, id, &encoded).await {
        Ok(_) => {
            tracing::info!(
                listing_id = id,
                added = encoded.len(),
                "listing created with photos"
            );
            Ok((id, None))
        }
        // Saved, but its photos not: the seller adds them again on the edit page.
        Err(e) => {
            tracing::error!(listing_id = id, error = %e, "photos of a new listing not stored");
            Ok((id, Some(e.code)))
        }
    }
}

/// The listing form from its multipart fields, read as `save-listing` reads its body.
fn form_of(fields: &[(String, String)]) -> Result<super::api::ListingForm, AppError> {
    #[derive(serde::Deserialize)]
    struct Body {
        form: super::api::ListingForm,
    }
    // Brackets stay as they are in the names (`form[terms_by][12]`); everything else that is
    // not plainly safe is percent-encoded.
    fn encode(out: &mut String, s: &str, brackets: bool) {
        for b in s.bytes() {
            if b.is_ascii_alphanumeric()
                || matches!(b, b'_' | b'-' | b'.')
                || (brackets && matches!(b, b'[' | b']'))
            {
                out.push(char::from(b));
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    let mut query = String::new();
    for (k, v) in fields {
        if !query.is_empty() {
            query.push('&');
        }
        encode(&mut query, k, true);
        query.push('=');
        encode(&mut query, v, false);
    }
    serde_qs::from_str::<Body>(&query)
        .map(|b| b.form)
        .map_err(|_| AppError::new(ErrorCode::InvalidListing))
}

/// Decodes and re-encodes uploaded files, all or none. Bounded like hashing: a few at once, a
/// short queue, 503 past it.
async fn encode_all(state: &AppState, files: Vec<Vec<u8>>) -> Result<Vec<Encoded>, AppError> {
    state
        .images
        .run(move || {
            files
                .iter()
                .map(|f| encode_upload(f))
                .collect::<Result<Vec<_>, _>>()
        })
        .await?
        .map_err(|code| AppError::new(code).field("photo"))
}

/// Reads one text field as UTF-8, taking its bytes from `room` (413 once the form's text passes
/// it).
async fn read_text(
    mut field: axum::extract::multipart::Field<'_>,
    room: &mut usize,
) -> Result<String, AppError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(field_error)? {
        *room = room
            .checked_sub(chunk.len())
            .ok_or_else(|| AppError::new(ErrorCode::TooLarge))?;
        bytes.extend_from_slice(&chunk);
    }
    String::from_utf8(bytes).map_err(|_| AppError::new(ErrorCode::BadRequest))
}

/// Reads one file, refusing it as soon as it passes [`MAX_PHOTO_BYTES`].
async fn read_limited(mut field: axum::extract::multipart::Field<'_>) -> Result<Vec<u8>, AppError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(field_error)? {
        if bytes.len() + chunk.len() > MAX_PHOTO_BYTES {
            return Err(AppError::new(ErrorCode::PhotoTooLarge).field("photo"));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

fn field_error(e: axum::extract::multipart::MultipartError) -> AppError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        AppError::new(ErrorCode::TooLarge)
    } else {
        AppError::new(ErrorCode::BadRequest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbaImage::from_fn(w, h, |x, y| {
            image::Rgba([
                (x % 256) as u8,
                (y % 256) as u8,
                90,
                if x < w / 2 { 0 } else { 255 },
            ])
        });
        let mut out = Vec::new();
        DynamicImage::ImageRgba8(img)
            .write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
            .expect("encode png");
        out
    }

    #[test]
    fn a_png_becomes_a_jpeg_and_a_4_by_3_thumbnail() {
        let e = encode_upload(&png(2000, 500)).expect("encoded");
        let full = image::load_from_memory(&e.full).expect("full decodes");
        assert_eq!((full.width(), full.height()), (1600, 400));
        assert_eq!(image::guess_format(&e.full).ok(), Some(ImageFormat::Jpeg));
        let thumb = image::load_from_memory(&e.thumb).expect("thumb decodes");
        assert_eq!((thumb.width(), thumb.height()), (THUMB_WIDTH, THUMB_HEIGHT));
        // Wider than the phone copy: one is made, in the gallery's 4:3 frame.
        let medium = image::load_from_memory(e.medium.as_deref().expect("a phone copy"))
            .expect("medium decodes");
        assert_eq!(
            (medium.width(), medium.height()),
            (MEDIUM_WIDTH, MEDIUM_HEIGHT)
        );
        // A picture no wider than the phone copy gets none (it would only be scaled up).
        assert!(encode_upload(&png(900, 600))
            .expect("encoded")
            .medium
            .is_none());
        // The transparent half was put on white, not black.
        let p = full.to_rgb8().get_pixel(10, 200).0;
        assert!(p.iter().all(|&c| c > 200), "{p:?}");
    }

    #[test]
    fn a_small_file_claiming_a_huge_picture_is_refused_before_decoding() {
        // 10,000 × 10,000 (100 megapixels) compresses to a few hundred KB of PNG.
        let img = image::GrayImage::new(10_000, 10_000);
        let mut bytes = Vec::new();
        DynamicImage::ImageLuma8(img)
            .write_to(&mut Cursor::new(&mut bytes), ImageFormat::Png)
            .unwrap();
        assert!(bytes.len() < MAX_PHOTO_BYTES);
        assert_eq!(
            encode_upload(&bytes).err(),
            Some(ErrorCode::PhotoTooManyPixels)
        );
    }

    #[test]
    fn only_the_files_it_wrote_are_served() {
        assert!(is_stored_photo_path(
            "listings/12/0123456789abcdef01234567.jpg"
        ));
        assert!(is_stored_photo_path(
            "listings/12/0123456789abcdef01234567-thumb.jpg"
        ));
        assert!(is_stored_photo_path(
            "listings/12/0123456789abcdef01234567-medium.jpg"
        ));
        for bad in [
            "listings/12/0123456789abcdef01234567.part",
            "listings/12/0123456789abcdef01234567.jpg.part",
            "listings/../../etc/passwd",
            "listings/12/notes.txt",
            "listings/x/0123456789abcdef01234567.jpg",
            "listings/12/0123456789ABCDEF01234567.jpg",
            "listings/12/0123456789abcdef01234567-medium-thumb.jpg",
            "other/12/0123456789abcdef01234567.jpg",
            "listings/12/sub/0123456789abcdef01234567.jpg",
            "",
        ] {
            assert!(!is_stored_photo_path(bad), "{bad}");
        }
    }

    #[test]
    fn other_files_are_refused_by_their_bytes() {
        assert_eq!(
            encode_upload(b"GIF89a....").err(),
            Some(ErrorCode::PhotoType)
        );
        assert_eq!(
            encode_upload(b"<svg xmlns='http://www.w3.org/2000/svg'/>").err(),
            Some(ErrorCode::PhotoType)
        );
        // A PNG signature with nothing behind it.
        let mut broken = png(8, 8);
        broken.truncate(20);
        assert_eq!(
            encode_upload(&broken).err(),
            Some(ErrorCode::PhotoUnreadable)
        );
        assert_eq!(
            encode_upload(&vec![0xFF; MAX_PHOTO_BYTES + 1]).err(),
            Some(ErrorCode::PhotoTooLarge)
        );
    }
}
