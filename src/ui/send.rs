//! Sending a form that carries files (multipart) from the browser, once the page has its
//! script: the form's own fields and files, with XMLHttpRequest so the upload's progress can
//! show, asking for JSON. Without the script the same form posts itself, and the server
//! answers a browser with a redirect.

#[cfg(feature = "hydrate")]
use leptos::prelude::*;

/// Sends the form `ev` was submitted from to `url`. `progress` follows the upload (percent;
/// `None` once it fails to start); `done` gets whether the answer was a success (2xx) and its
/// JSON (`Null` when the body was not JSON, or when no answer came: the network failed or the
/// connection was cut).
#[cfg(feature = "hydrate")]
pub fn send_form(
    ev: leptos::ev::SubmitEvent,
    url: &str,
    progress: RwSignal<Option<u32>>,
    done: impl FnOnce(bool, serde_json::Value) + 'static,
) {
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;
    let Some(form) = ev
        .target()
        .and_then(|t| t.dyn_into::<web_sys::HtmlFormElement>().ok())
    else {
        return;
    };
    let (Ok(data), Ok(xhr)) = (
        web_sys::FormData::new_with_form(&form),
        web_sys::XmlHttpRequest::new(),
    ) else {
        return;
    };
    ev.prevent_default();
    progress.set(Some(0));
    if xhr.open("POST", url).is_err() {
        progress.set(None);
        return;
    }
    let _ = xhr.set_request_header("Accept", "application/json");
    if let Ok(upload) = xhr.upload() {
        let on_progress =
            Closure::<dyn FnMut(web_sys::ProgressEvent)>::new(move |e: web_sys::ProgressEvent| {
                if e.length_computable() && e.total() > 0.0 {
                    progress.set(Some(((e.loaded() / e.total()) * 100.0) as u32));
                }
            });
        upload.set_onprogress(Some(on_progress.as_ref().unchecked_ref()));
        on_progress.forget();
    }
    // One of the two ends comes: an answer, or none.
    let done = std::rc::Rc::new(std::cell::RefCell::new(Some(done)));
    let x = xhr.clone();
    let answered = done.clone();
    let on_load = Closure::<dyn FnMut()>::new(move || {
        progress.set(Some(100));
        let ok = (200..300).contains(&x.status().unwrap_or(0));
        let body = x.response_text().ok().flatten().unwrap_or_default();
        if let Some(f) = answered.borrow_mut().take() {
            f(ok, serde_json::from_str(&body).unwrap_or_default());
        }
    });
    xhr.set_onload(Some(on_load.as_ref().unchecked_ref()));
    on_load.forget();
    let on_error = Closure::<dyn FnMut()>::new(move || {
        progress.set(None);
        if let Some(f) = done.borrow_mut().take() {
            f(false, serde_json::Value::Null);
        }
    });
    xhr.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    xhr.set_onabort(Some(on_error.as_ref().unchecked_ref()));
    on_error.forget();
    if xhr.send_with_opt_form_data(Some(&data)).is_err() {
        progress.set(None);
    }
}
