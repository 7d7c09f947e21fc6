//! Generated wire types and stubs of `proto/argocd/`, one module per proto
//! package (the nesting mirrors the package names, as the generated code
//! refers to other packages by relative path).

#![allow(missing_docs, clippy::all, clippy::unwrap_used, clippy::expect_used)]

/// The `repository` package: the service and its requests and responses.
pub mod repository {
    tonic::include_proto!("repository");
}

/// Argo CD's Go module path, as proto packages.
pub mod github {
    pub mod com {
        pub mod argoproj {
            pub mod argo_cd {
                pub mod v3 {
                    pub mod pkg {
                        pub mod apis {
                            pub mod application {
                                /// Argo CD's application types.
                                pub mod v1alpha1 {
                                    tonic::include_proto!(
                                        "github.com.argoproj.argo_cd.v3.pkg.apis.application.v1alpha1"
                                    );
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Kubernetes apimachinery types, as proto packages.
pub mod k8s {
    pub mod io {
        pub mod apimachinery {
            pub mod pkg {
                pub mod apis {
                    pub mod meta {
                        pub mod v1 {
                            tonic::include_proto!("k8s.io.apimachinery.pkg.apis.meta.v1");
                        }
                    }
                }
                pub mod runtime {
                    tonic::include_proto!("k8s.io.apimachinery.pkg.runtime");
                }
                pub mod util {
                    pub mod intstr {
                        tonic::include_proto!("k8s.io.apimachinery.pkg.util.intstr");
                    }
                }
            }
        }
    }
}

pub use self::github::com::argoproj::argo_cd::v3::pkg::apis::application::v1alpha1;
pub use self::k8s::io::apimachinery::pkg::apis::meta::v1 as meta_v1;
