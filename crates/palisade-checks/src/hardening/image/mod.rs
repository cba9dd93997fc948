//! Image checks (`PAL2nn`): how container images are referenced and where they come from.
//! Every container is checked (init, regular, ephemeral), at `...containers[i].image`.
//! Images that are missing or do not parse as a reference (e.g. an unrendered template)
//! are skipped.

use crate::context::{Check, Emitter};
use palisade_model::{ContainerRef, Object};

mod image_latest_tag;
mod image_without_digest;
mod image_without_tag;
pub mod reference;
mod registry_not_allowed;

pub use image_latest_tag::ImageLatestTag;
pub use image_without_digest::ImageWithoutDigest;
pub use image_without_tag::ImageWithoutTag;
pub use reference::ImageRef;
pub use registry_not_allowed::ImageRegistryNotAllowed;

/// Every check in this category.
pub static CHECKS: &[&dyn Check] = &[
    &ImageWithoutTag,
    &ImageLatestTag,
    &ImageWithoutDigest,
    &ImageRegistryNotAllowed,
];

/// Calls `f` for every container of `obj` with a parseable image; `f` gets the container,
/// the image as written, and its parsed reference.
pub(super) fn each_image(obj: &Object, mut f: impl FnMut(&ContainerRef<'_>, &str, &ImageRef)) {
    let Some(pod) = obj.pod() else { return };
    for c in pod.containers() {
        let Some(image) = c.image() else { continue };
        if let Some(r) = ImageRef::parse(image) {
            f(&c, image.trim(), &r);
        }
    }
}

/// Emits a finding at the container's `image` field.
pub(super) fn emit_at_image(out: &mut Emitter<'_>, c: &ContainerRef<'_>, message: String) {
    out.emit(c.path(&["image"]), c.locate(&["image"]), message);
}
