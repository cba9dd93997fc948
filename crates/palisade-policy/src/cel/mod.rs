//! The CEL environment shared by ValidatingAdmissionPolicy and Gatekeeper
//! `K8sNativeValidation`. (Being written.)
