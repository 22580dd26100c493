# trainyard: the training service (trainyard-server) and the CLI (trainyard).
#
#   docker build -t trainyard .
#   docker run -p 50051:50051 -v trainyard-state:/var/lib/trainyard trainyard \
#       --listen 0.0.0.0:50051 --tokens-file /etc/trainyard/tokens
#
# BASE selects the runtime image; a CUDA-enabled libtorch base (an image that
# provides libtorch 2.x under /opt/libtorch) is used with
#   --build-arg BASE=<cuda-libtorch-image> --build-arg TORCH_DIR=/opt/libtorch/share/cmake/Torch \
#   --build-arg TORCH_RUNTIME=
# (TORCH_RUNTIME is the Debian libtorch package the default runtime installs.)
ARG BASE=debian:12-slim

FROM debian:12 AS build
WORKDIR /src
COPY scripts/setup scripts/setup
RUN bash scripts/setup && rm -rf /var/lib/apt/lists/*
COPY . .
ARG TORCH_DIR=
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release -DTRAINYARD_BUILD_TESTS=OFF \
      -DTRAINYARD_BUILD_BENCH=OFF ${TORCH_DIR:+-DTorch_DIR=$TORCH_DIR} \
 && cmake --build /build --target trainyard trainyard-server

FROM ${BASE}
ARG TORCH_RUNTIME=libtorch1.13
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends \
      libyaml-0-2 libarchive13 libsqlite3-0 libgrpc++1.51 libprotobuf32 libopenblas0-openmp libtcmalloc-minimal4 ca-certificates \
      libcurl4 libprometheus-cpp-core1.0 libspdlog1.10 ${TORCH_RUNTIME} \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home /var/lib/trainyard --create-home trainyard
COPY --from=build /build/client/trainyard /build/server/trainyard-server /usr/local/bin/
USER trainyard
WORKDIR /var/lib/trainyard
ENV TRAINYARD_STATE_DIR=/var/lib/trainyard
EXPOSE 50051
# The gRPC health service answers SERVING while the server accepts jobs.
HEALTHCHECK --interval=30s --timeout=5s CMD ["/usr/local/bin/trainyard", "health", "--server", "127.0.0.1:50051"]
ENTRYPOINT ["/usr/local/bin/trainyard-server"]
CMD ["--listen", "127.0.0.1:50051"]
