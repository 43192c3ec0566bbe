package client_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/shoal-cache/shoal/client"
	"go.uber.org/zap"
)

// A client that finds the cluster's nodes through its configuration
// endpoint, and follows the cluster as nodes join and leave.
func ExampleNew() {
	ctx := context.Background()
	logger, _ := zap.NewProduction()
	c, err := client.New(ctx, client.Config{
		Endpoints:    []string{"cache.cfg.example:11211"},
		PollInterval: 5 * time.Second,
		MaxIdleConns: 128, // the application's peak concurrent requests
		Logger:       logger,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	if err := c.Set(ctx, &client.Item{Key: "user:1001", Value: []byte(`{"name":"Ada"}`), Expiration: 300}); err != nil {
		log.Print(err)
	}
	it, err := c.Get(ctx, "user:1001")
	switch {
	case errors.Is(err, client.ErrCacheMiss):
		fmt.Println("not cached")
	case err != nil:
		log.Print(err)
	default:
		fmt.Printf("%s\n", it.Value)
	}
}

// A client of a fixed list of memcached servers, without discovery.
func ExampleNew_static() {
	c, err := client.New(context.Background(), client.Config{
		Servers: []string{"10.0.0.1:11211", "10.0.0.2:11211", "10.0.0.3:11211"},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
}

// Cache-aside in one call: a miss loads the row once, however many requests
// ask for it at the same time, and caches it for about 10 minutes. Rows that
// do not exist are cached for a minute, so that asking for them again does
// not reach the database.
func ExampleClient_GetOrLoad() {
	ctx := context.Background()
	db, err := sql.Open("postgres", "postgres:///app")
	if err != nil {
		log.Fatal(err)
	}
	c, err := client.New(ctx, client.Config{
		Endpoints:   []string{"cache.cfg.example:11211"},
		NegativeTTL: time.Minute,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	loadUser := func(ctx context.Context, key string) ([]byte, error) {
		var profile []byte
		err := db.QueryRowContext(ctx, "SELECT profile FROM users WHERE id = $1", key[len("user:"):]).Scan(&profile)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, client.ErrNotFound
		}
		return profile, err
	}
	profile, err := c.GetOrLoad(ctx, "user:1001", 10*time.Minute, loadUser)
	switch {
	case errors.Is(err, client.ErrNotFound):
		fmt.Println("no such user")
	case err != nil:
		log.Print(err)
	default:
		fmt.Printf("%s\n", profile)
	}
}

// Write-through: the database first, then the cache. If the database
// refuses the write, the cache keeps the value the database holds; if the
// cache refuses it, the cached key is deleted so that readers load the new
// value.
func ExampleClient_SetThrough() {
	ctx := context.Background()
	db, err := sql.Open("postgres", "postgres:///app")
	if err != nil {
		log.Fatal(err)
	}
	c, err := client.New(ctx, client.Config{Endpoints: []string{"cache.cfg.example:11211"}})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	item := &client.Item{Key: "user:1001", Value: []byte(`{"name":"Ada Lovelace"}`), Expiration: 600}
	err = c.SetThrough(ctx, item, func(ctx context.Context, it *client.Item) error {
		_, err := db.ExecContext(ctx, "UPDATE users SET profile = $1 WHERE id = $2", it.Value, "1001")
		return err
	})
	if err != nil {
		log.Print(err)
	}
}
