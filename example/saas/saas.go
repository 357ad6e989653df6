// Package saas is a saas-style tenantgen project (shared organisations,
// users and roles; per-tenant projects, tasks, comments, audit and
// attachments) whose generated package db the differential isolation test
// (internal/difftest) runs query by query.
package saas

//go:generate go run github.com/tenantgen/tenantgen/cmd/tenantgen generate
