#include "server/status.h"

#include <gtest/gtest.h>

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
  v1::DiagnosticList list;
  ASSERT_TRUE(list.ParseFromString(status.error_details()));
  ASSERT_EQ(list.diagnostics_size(), 2);
  EXPECT_EQ(list.diagnostics(0).severity(), v1::SEVERITY_WARNING);
  EXPECT_EQ(list.diagnostics(1).severity(), v1::SEVERITY_ERROR);
  EXPECT_EQ(list.diagnostics(1).location().file(), "data/s.yml");
  EXPECT_EQ(list.diagnostics(1).location().line(), 7);
  EXPECT_EQ(list.diagnostics(1).location().column(), 5);
}

}  // namespace
}  // namespace trainyard::server
