"""Email sender: delivers SES templated email requests from SQS exactly once."""
