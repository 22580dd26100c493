#include "server/status.h"

#include <gtest/gtest.h>

#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace trainyard::server {
namespace {

TEST(ToGrpcStatus, MapsEachErrorKindToItsCanonicalCode) {
  EXPECT_EQ(ToGrpcStatus(util::NotFoundError("no model")).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(ToGrpcStatus(util::CancelledError()).error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_EQ(ToGrpcStatus(util::InvalidConfigError("bad")).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ToGrpcStatus(util::Error(util::ErrorCode::kResourceExhausted, "full")).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
}

TEST(ToGrpcStatus, InvalidDataCarriesEveryDiagnosticWithItsLocation) {
  const util::InvalidDataError error({{util::Severity::kWarning, "unused intent", {"domain.yml", 3, 5}},
                                      {util::Severity::kError, "Unknown step kind 'acton'", {"data/s.yml", 7, 5}}});
  const grpc::Status status = ToGrpcStatus(error);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "data/s.yml:7:5: error: Unknown step kind 'acton'");
  google::rpc::Status rich;
  ASSERT_TRUE(rich.ParseFromString(status.error_details()));
  EXPECT_EQ(rich.code(), static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
  ASSERT_EQ(rich.details_size(), 2);
  google::rpc::BadRequest bad;
  ASSERT_TRUE(rich.details(0).UnpackTo(&bad));
  ASSERT_EQ(bad.field_violations_size(), 1);  // errors only
  EXPECT_EQ(bad.field_violations(0).field(), "data/s.yml:7:5");
  EXPECT_EQ(bad.field_violations(0).description(), "Unknown step kind 'acton'");
  v1::DiagnosticList list;
  ASSERT_TRUE(rich.details(1).UnpackTo(&list));
  ASSERT_EQ(list.diagnostics_size(), 2);
  EXPECT_EQ(list.diagnostics(0).severity(), v1::SEVERITY_WARNING);
  EXPECT_EQ(list.diagnostics(1).severity(), v1::SEVERITY_ERROR);
  EXPECT_EQ(list.diagnostics(1).location().file(), "data/s.yml");
  EXPECT_EQ(list.diagnostics(1).location().line(), 7);
  EXPECT_EQ(list.diagnostics(1).location().column(), 5);
}

TEST(ToGrpcStatus, AFullQueueTellsTheCallerWhenToRetry) {
  const grpc::Status status =
      ToGrpcStatus(util::Error(util::ErrorCode::kResourceExhausted, "queue full"), std::chrono::milliseconds(2500));
  google::rpc::Status rich;
  ASSERT_TRUE(rich.ParseFromString(status.error_details()));
  ASSERT_EQ(rich.details_size(), 1);
  google::rpc::RetryInfo retry;
  ASSERT_TRUE(rich.details(0).UnpackTo(&retry));
  EXPECT_EQ(retry.retry_delay().seconds(), 2);
  EXPECT_EQ(retry.retry_delay().nanos(), 500000000);
  // Plain errors carry no details.
  EXPECT_TRUE(ToGrpcStatus(util::NotFoundError("no job")).error_details().empty());
}

}  // namespace
}  // namespace trainyard::server
