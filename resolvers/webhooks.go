package resolvers

import (
	"context"
	"time"

	"github.com/pedigree-ml/pedigree/graph"
	"github.com/pedigree-ml/pedigree/graph/model"
	"github.com/pedigree-ml/pedigree/lineage"
	"github.com/pedigree-ml/pedigree/webhook"
)

func (r *Resolver) DeliveryAttempt() graph.DeliveryAttemptResolver { return deliveryAttemptResolver{} }
func (r *Resolver) Webhook() graph.WebhookResolver                 { return webhookResolver{r} }
func (r *Resolver) WebhookDelivery() graph.WebhookDeliveryResolver { return webhookDeliveryResolver{} }
func (r *Resolver) WebhookTestResult() graph.WebhookTestResultResolver {
	return webhookTestResultResolver{}
}

// webhooks returns the dispatcher, or an error when the server runs none.
func (r *Resolver) webhooks() (*webhook.Dispatcher, error) {
	if r.hooks == nil {
		return nil, lineage.Errorf(lineage.EUNAVAILABLE, "webhooks are not enabled on this server")
	}
	return r.hooks, nil
}

func (r queryResolver) Webhooks(ctx context.Context) ([]*webhook.Webhook, error) {
	h, err := r.webhooks()
	if err != nil {
		return nil, err
	}
	return h.List(ctx)
}

func (r queryResolver) Webhook(ctx context.Context, id lineage.ID) (*webhook.Webhook, error) {
	h, err := r.webhooks()
	if err != nil {
		return nil, err
	}
	w, err := h.Get(ctx, string(id))
	if lineage.ErrorCode(err) == lineage.ENOTFOUND {
		return nil, nil
	}
	return w, err
}

func (r mutationResolver) CreateWebhook(ctx context.Context, in webhook.CreateInput) (*model.CreateWebhookPayload, error) {
	h, err := r.webhooks()
	if err != nil {
		return nil, err
	}
	w, secret, err := h.Create(ctx, in)
	if err != nil {
		return nil, err
	}
	return &model.CreateWebhookPayload{Webhook: w, Secret: secret}, nil
}

func (r mutationResolver) UpdateWebhook(ctx context.Context, in model.UpdateWebhookInput) (*model.UpdateWebhookPayload, error) {
	h, err := r.webhooks()
	if err != nil {
		return nil, err
	}
	up := webhook.UpdateInput{ID: string(in.ID), URL: in.URL, Description: in.Description, Enabled: in.Enabled, RotateSecret: deref(in.RotateSecret)}
	// An omitted list arrives nil and changes nothing; [] means "all".
	if in.Events != nil {
		up.Events = &in.Events
	}
	if in.Models != nil {
		up.Models = &in.Models
	}
	w, secret, err := h.Update(ctx, up)
	if err != nil {
		return nil, err
	}
	out := &model.UpdateWebhookPayload{Webhook: w}
	if secret != "" {
		out.Secret = &secret
	}
	return out, nil
}

func (r mutationResolver) DeleteWebhook(ctx context.Context, id lineage.ID) (lineage.ID, error) {
	h, err := r.webhooks()
	if err != nil {
		return "", err
	}
	return id, h.Delete(ctx, string(id))
}

func (r mutationResolver) RedeliverEvent(ctx context.Context, event lineage.ID, hook *lineage.ID) ([]*webhook.Delivery, error) {
	h, err := r.webhooks()
	if err != nil {
		return nil, err
	}
	ds, err := h.Redeliver(ctx, string(event), string(deref(hook)))
	return pointers(ds), err
}

func (r mutationResolver) TestWebhook(ctx context.Context, id lineage.ID) (*webhook.TestResult, error) {
	h, err := r.webhooks()
	if err != nil {
		return nil, err
	}
	res, err := h.Test(ctx, string(id))
	if err != nil {
		return nil, err
	}
	return &res, nil
}

type webhookResolver struct{ *Resolver }

func (webhookResolver) DisabledReason(_ context.Context, o *webhook.Webhook) (*string, error) {
	return optional(o.DisabledReason), nil
}

func (r webhookResolver) Deliveries(ctx context.Context, o *webhook.Webhook, status *webhook.Status, first *int, after *string) (*model.WebhookDeliveryConnection, error) {
	h, err := r.webhooks()
	if err != nil {
		return nil, err
	}
	p, err := page(first, after)
	if err != nil {
		return nil, err
	}
	ds, end, next, err := h.Deliveries(ctx, webhook.DeliveryQuery{Webhook: o.ID, Status: deref(status), First: p.First, After: p.After})
	if err != nil {
		return nil, err
	}
	return &model.WebhookDeliveryConnection{Nodes: pointers(ds), PageInfo: pageInfo(end, next)}, nil
}

type webhookDeliveryResolver struct{}

func (webhookDeliveryResolver) Model(_ context.Context, o *webhook.Delivery) (*string, error) {
	return optional(o.Model), nil
}

type deliveryAttemptResolver struct{}

func (deliveryAttemptResolver) StatusCode(_ context.Context, o *webhook.Attempt) (*int, error) {
	return optionalCode(o.StatusCode), nil
}
func (deliveryAttemptResolver) LatencyMs(_ context.Context, o *webhook.Attempt) (float64, error) {
	return ms(o.Latency), nil
}
func (deliveryAttemptResolver) Error(_ context.Context, o *webhook.Attempt) (*string, error) {
	return optional(o.Error), nil
}

type webhookTestResultResolver struct{}

func (webhookTestResultResolver) StatusCode(_ context.Context, o *webhook.TestResult) (*int, error) {
	return optionalCode(o.StatusCode), nil
}
func (webhookTestResultResolver) LatencyMs(_ context.Context, o *webhook.TestResult) (float64, error) {
	return ms(o.Latency), nil
}
func (webhookTestResultResolver) Error(_ context.Context, o *webhook.TestResult) (*string, error) {
	return optional(o.Error), nil
}

// optional is nil for "", the GraphQL null of an absent text.
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// optionalCode is nil for 0: no HTTP response came.
func optionalCode(c int) *int {
	if c == 0 {
		return nil
	}
	return &c
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func pointers[T any](vs []T) []*T {
	out := make([]*T, len(vs))
	for i := range vs {
		out[i] = &vs[i]
	}
	return out
}
