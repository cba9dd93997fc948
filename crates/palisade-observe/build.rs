//! Compiles Palisade's Hubble Observer proto subset (proto/) into tonic/prost code when the
//! `hubble-grpc` feature is on. protox is a pure-Rust protobuf compiler: no protoc needed.

fn main() {
    #[cfg(feature = "hubble-grpc")]
    {
        println!("cargo:rerun-if-changed=proto");
        let fds = protox::compile(["observer.proto"], ["proto"])
            .unwrap_or_else(|e| panic!("compiling proto/observer.proto: {e}"));
        tonic_prost_build::configure()
            .build_client(true)
            .build_server(true)
            .compile_fds(fds)
            .unwrap_or_else(|e| panic!("generating the Observer client: {e}"));
    }
}
