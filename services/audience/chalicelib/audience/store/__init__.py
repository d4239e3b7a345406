"""The audience service's DynamoDB layer: keys, records and one repository per aggregate."""
