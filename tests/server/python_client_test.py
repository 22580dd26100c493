"""Submits and watches a training job from Python, through stubs generated
from proto/ with grpc_python_plugin: the wire contract works outside C++.

usage: python_client_test.py SERVER_ADDRESS PROTO_DIR STUB_DIR PROJECT_DIR
"""
import os
import subprocess
import sys


def main() -> int:
    address, proto_dir, stub_dir, project = sys.argv[1:5]
    os.makedirs(stub_dir, exist_ok=True)
    for proto in ("trainyard/v1/diagnostics.proto", "trainyard/v1/training_service.proto"):
        subprocess.run(["protoc", f"-I{proto_dir}", f"--python_out={stub_dir}", f"--grpc_python_out={stub_dir}",
                        "--plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin",
                        os.path.join(proto_dir, proto)], check=True)
    sys.path.insert(0, stub_dir)
    import grpc
    from trainyard.v1 import training_service_pb2 as pb
    from trainyard.v1 import training_service_pb2_grpc as rpc

    request = pb.TrainRequest(request_id="python-1")
    for root, _, names in os.walk(project):
        for name in names:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                request.files.files.add(path=os.path.relpath(path, project), content=f.read())
    stub = rpc.TrainingServiceStub(grpc.insecure_channel(address))
    job = stub.SubmitTraining(request, timeout=30)
    assert job.state == pb.JOB_STATE_QUEUED, job
    last = None
    for event in stub.WatchJob(pb.WatchJobRequest(job_id=job.id), timeout=120):
        if not event.heartbeat:
            last = event
    assert last is not None and last.HasField("succeeded"), last
    assert last.succeeded.model_sha256 and last.succeeded.training_type == "BOTH", last
    done = stub.GetJob(pb.GetJobRequest(job_id=job.id), timeout=30)
    assert done.state == pb.JOB_STATE_SUCCEEDED, done
    print("python client: job", job.id, "succeeded,", last.sequence, "events")
    return 0


if __name__ == "__main__":
    sys.exit(main())
